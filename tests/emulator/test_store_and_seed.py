"""State in SQLite across restarts, and seed loading with clear errors."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from cloudflare_byoip.emulator.cli import dev_seed_path
from cloudflare_byoip.emulator.exceptions import ApiError
from cloudflare_byoip.emulator.models import (
    Emulator,
    SeedError,
    service_id,
    service_name_from_seed,
)
from cloudflare_byoip.emulator.store import SqliteStore
from tests.conftest import (
    ACCOUNT_ID,
    PREFIX_V4_BOUND,
    PREFIX_V4_FREE,
    TEST_SEED,
)


def bindings(emulator: Emulator, prefix_id: str) -> list[tuple[str, str, str]]:
    return [
        (b["cidr"], b["service_name"], b["provisioning"]["state"])
        for b in emulator.list_bindings(ACCOUNT_ID, prefix_id)
    ]


def test_sqlite_state_survives_a_restart_and_the_seed_is_not_reapplied(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.sqlite"
    first = Emulator.from_seed(TEST_SEED, store=SqliteStore(path))
    first.create_binding(
        ACCOUNT_ID,
        PREFIX_V4_BOUND,
        "203.0.113.0/25",
        service_id(ACCOUNT_ID, "Spectrum"),
    )
    changed_seed = copy.deepcopy(TEST_SEED)
    changed_seed["accounts"][0]["prefixes"] = []

    second = Emulator.from_seed(changed_seed, store=SqliteStore(path))

    assert bindings(second, PREFIX_V4_BOUND) == [
        ("203.0.113.0/24", "Magic Transit", "active"),
        ("203.0.113.0/25", "Spectrum", "active"),
    ]
    assert len(second.list_prefixes(ACCOUNT_ID)) == 3
    second.authenticate("Bearer test-token")


def test_provisioning_binding_restarts_its_delay_after_a_restart(
    tmp_path: Path,
) -> None:
    now = [0.0]
    path = tmp_path / "state.sqlite"
    first = Emulator.from_seed(
        TEST_SEED, store=SqliteStore(path), propagation_seconds=10, clock=lambda: now[0]
    )
    first.create_binding(
        ACCOUNT_ID, PREFIX_V4_FREE, "198.51.100.0/24", service_id(ACCOUNT_ID, "CDN")
    )

    now[0] = 500.0
    second = Emulator.from_seed(
        TEST_SEED, store=SqliteStore(path), propagation_seconds=10, clock=lambda: now[0]
    )

    assert bindings(second, PREFIX_V4_FREE) == [
        ("198.51.100.0/24", "CDN", "provisioning")
    ]
    now[0] = 510.0
    assert bindings(second, PREFIX_V4_FREE)[0][2] == "active"


def test_empty_emulator_built_by_hand() -> None:
    emulator = Emulator()
    emulator.add_token("t")
    emulator.add_account(ACCOUNT_ID)
    prefix = emulator.add_prefix(
        ACCOUNT_ID, "1" * 32, "192.0.2.0/24", asn=64500, description="hand made"
    )

    assert prefix["cidr"] == "192.0.2.0/24"
    assert emulator.get_prefix(ACCOUNT_ID, "1" * 32)["asn"] == 64500
    with pytest.raises(ApiError) as caught:
        emulator.get_prefix(ACCOUNT_ID, "2" * 32)
    assert (caught.value.status, caught.value.code) == (404, 1000)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("magic_transit", "Magic Transit"),
        ("Magic Transit", "Magic Transit"),
        ("MAGIC-TRANSIT", "Magic Transit"),
        ("cdn", "CDN"),
        (" Spectrum ", "Spectrum"),
    ],
)
def test_seed_service_names_are_tolerant(value: str, expected: str) -> None:
    assert service_name_from_seed(value) == expected


def test_dev_seed_matches_the_documented_dev_state() -> None:
    emulator = Emulator.from_seed(dev_seed_path())

    emulator.authenticate("Bearer dev-token")
    prefixes = {p["id"]: p for p in emulator.list_prefixes(ACCOUNT_ID)}
    assert {pid: (p["cidr"], p["asn"]) for pid, p in prefixes.items()} == {
        "00000000000000000000000000000a01": ("203.0.113.0/24", 64496),
        "00000000000000000000000000000a02": ("198.51.100.0/24", 64496),
        "00000000000000000000000000000a03": ("2001:db8:100::/48", 64496),
    }
    assert bindings(emulator, "00000000000000000000000000000a01") == [
        ("203.0.113.0/24", "Magic Transit", "provisioning")
    ]
    assert emulator.propagation_seconds > 0


def broken(path: str, value: Any) -> dict[str, Any]:
    """Return TEST_SEED with one entry replaced (path like 'accounts.0.id')."""
    seed = copy.deepcopy(TEST_SEED)
    target: Any = seed
    keys = path.split(".")
    for key in keys[:-1]:
        target = target[int(key)] if key.isdigit() else target[key]
    last = keys[-1]
    target[int(last) if last.isdigit() else last] = value
    return seed


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("accounts.0.id", "ABC", "seed accounts[0]: account id"),
        ("accounts.0.prefixes.1.cidr", "198.51.100.7/24", "prefixes[1]: prefix cidr"),
        (
            "accounts.0.prefixes.0.bindings.0.service",
            "waf",
            "bindings[0]: unknown service 'waf'",
        ),
        (
            "accounts.0.prefixes.0.bindings.0.cidr",
            "203.0.113.0/25",
            "bindings[0]: Unsupported binding configuration: the first binding",
        ),
        ("tokens", [""], "seed tokens[0]"),
        ("accounts.0.prefixes.2.asn", "x", "prefixes[2].asn"),
        ("propagation_seconds", -1, "propagation_seconds"),
    ],
)
def test_seed_errors_name_the_entry(path: str, value: Any, message: str) -> None:
    with pytest.raises(
        SeedError, match=message.replace("[", r"\[").replace("]", r"\]")
    ):
        Emulator.from_seed(broken(path, value))


def test_seed_file_errors(tmp_path: Path) -> None:
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("tokens: [unclosed\n")
    not_mapping = tmp_path / "list.yaml"
    not_mapping.write_text("- a\n")

    with pytest.raises(SeedError, match="not valid YAML"):
        Emulator.from_seed(bad_yaml)
    with pytest.raises(SeedError, match="must hold a mapping"):
        Emulator.from_seed(not_mapping)
    with pytest.raises(SeedError, match="cannot read seed file"):
        Emulator.from_seed(tmp_path / "missing.yaml")
