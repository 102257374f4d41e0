"""Fixtures of the component tests: emulator-backed mocks and a program runner."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pulumi
import pytest

from cloudflare_byoip.emulator.cli import dev_seed_path
from cloudflare_byoip.testing import ByoipMocks, RecordingMonitor, pulumi_mocks

ROOT = Path(__file__).resolve().parents[2]
"""The project directory (Pulumi.yaml, __main__.py, stacks/)."""
ACCOUNT = "0123456789abcdef0123456789abcdef"
"""The dev seed's account."""
PREFIX_BOUND = "00000000000000000000000000000a01"
"""203.0.113.0/24 in the dev seed, with a Magic Transit default binding."""
PREFIX_V4 = "00000000000000000000000000000a02"
"""198.51.100.0/24 in the dev seed, with no bindings."""
PREFIX_V6 = "00000000000000000000000000000a03"
"""2001:db8:100::/48 in the dev seed, with no bindings."""

Run = Callable[[Callable[[], Any]], RecordingMonitor]


@pytest.fixture
def mocks() -> ByoipMocks:
    """Mocks whose model starts as the shipped dev seed."""
    return ByoipMocks.from_seed(dev_seed_path())


@pytest.fixture
def run(mocks: ByoipMocks) -> Iterator[Run]:
    """Run a program under ``mocks``; Pulumi's global state is restored after."""

    def go(program: Callable[[], Any]) -> RecordingMonitor:
        with pulumi_mocks(mocks) as monitor:
            pulumi.runtime.test(program)()
        return monitor

    yield go
