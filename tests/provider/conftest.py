"""Fixtures of the provider tests: provider processes on the session's emulator,
and a log of the requests the emulator served."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from cloudflare_byoip.emulator.server import RunningEmulator
from cloudflare_byoip.testing.provider_process import ProviderProcess
from tests.conftest import ACCOUNT_ID, TOKEN

EMULATOR_LOGGER = "cloudflare_byoip.emulator"
"""The emulator logs one line per request here: method, path, status, time."""


class RequestLog(logging.Handler):
    """Counts the emulator's requests, server side, from its per-request log."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self._lock_entries = threading.Lock()
        self.entries: list[tuple[str, str, int]] = []

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args
        if isinstance(args, tuple) and len(args) == 4:
            method, path, status, _ = args
            with self._lock_entries:
                self.entries.append((str(method), str(path), int(status)))

    def clear(self) -> None:
        with self._lock_entries:
            self.entries.clear()

    def count(
        self, method: str | None = None, suffix: str = "", status: int | None = None
    ) -> int:
        """Requests with this method, path ending and status (None: any)."""
        with self._lock_entries:
            return sum(
                1
                for m, path, s in self.entries
                if (method is None or m == method)
                and path.endswith(suffix)
                and (status is None or s == status)
            )


@pytest.fixture
def requests_log() -> Iterator[RequestLog]:
    """The requests the emulator serves during one test."""
    logger = logging.getLogger(EMULATOR_LOGGER)
    handler = RequestLog()
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def provider_config(
    running: RunningEmulator, token: str = TOKEN, **extra: str
) -> dict[str, str]:
    """Stack config pointing the provider at the emulator."""
    return {
        "cloudflare:apiToken": token,
        "cloudflare:baseUrl": running.base_url,
        **extra,
    }


@pytest.fixture(scope="module")
def provider(emulator_server: RunningEmulator) -> Iterator[ProviderProcess]:
    """One provider process per module; listings are not cached between reads."""
    config = provider_config(emulator_server, **{"byoip:listingCacheSeconds": "0"})
    with ProviderProcess(config) as process:
        yield process


def binding_inputs(
    prefix_id: str, cidr: str, service: str, **flags: Any
) -> dict[str, Any]:
    """Raw inputs of one binding in the test account."""
    return {
        "account_id": ACCOUNT_ID,
        "prefix_id": prefix_id,
        "cidr": cidr,
        "service": service,
        **flags,
    }
