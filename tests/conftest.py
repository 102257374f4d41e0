"""Shared fixtures: a seeded emulator on a loopback socket and an SDK client on it."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import cloudflare
import pytest

from cloudflare_byoip.emulator.faults import Faults
from cloudflare_byoip.emulator.models import Emulator
from cloudflare_byoip.emulator.server import RunningEmulator, serve_in_thread

ACCOUNT_ID = "0123456789abcdef0123456789abcdef"
"""The test seed's only account."""
TOKEN = "test-token"
"""The test seed's only API token."""
PREFIX_V4_BOUND = "00000000000000000000000000000a01"
"""203.0.113.0/24, with a Magic Transit default binding."""
PREFIX_V4_FREE = "00000000000000000000000000000a02"
"""198.51.100.0/24, with no bindings."""
PREFIX_V6_FREE = "00000000000000000000000000000a03"
"""2001:db8:100::/48, with no bindings."""
DEFAULT_BINDING_ID = "00000000000000000000000000000b01"
"""Id of the Magic Transit default binding on 203.0.113.0/24."""

TEST_SEED: dict[str, Any] = {
    "tokens": [TOKEN],
    "accounts": [
        {
            "id": ACCOUNT_ID,
            "prefixes": [
                {
                    "id": PREFIX_V4_BOUND,
                    "cidr": "203.0.113.0/24",
                    "asn": 64496,
                    "description": "test IPv4 prefix with a default binding",
                    "bindings": [
                        {
                            "id": DEFAULT_BINDING_ID,
                            "cidr": "203.0.113.0/24",
                            "service": "magic_transit",
                        }
                    ],
                },
                {
                    "id": PREFIX_V4_FREE,
                    "cidr": "198.51.100.0/24",
                    "asn": 64496,
                    "description": "test IPv4 prefix without bindings",
                },
                {
                    "id": PREFIX_V6_FREE,
                    "cidr": "2001:db8:100::/48",
                    "asn": 64496,
                    "description": "test IPv6 prefix without bindings",
                },
            ],
        }
    ],
}
"""Seed of the `emulator` fixture; deep-copy it before changing it."""


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[RunningEmulator]:
    """One emulator server on a free loopback port for the whole session."""
    with serve_in_thread(Emulator.from_seed(copy.deepcopy(TEST_SEED))) as running:
        yield running


@pytest.fixture
def emulator(emulator_server: RunningEmulator) -> RunningEmulator:
    """The session's server, reset to a fresh TEST_SEED state and no faults."""
    emulator_server.reset(
        Emulator.from_seed(copy.deepcopy(TEST_SEED)), Faults(seed=1234)
    )
    return emulator_server


@pytest.fixture
def cf_client(emulator: RunningEmulator) -> Iterator[cloudflare.Cloudflare]:
    """The official SDK pointed at the emulator, retrying up to five times."""
    client = cloudflare.Cloudflare(
        api_token=TOKEN, base_url=emulator.base_url, max_retries=5, timeout=10
    )
    with client:
        yield client
