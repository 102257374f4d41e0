"""The deploy replay: the real stack program, the real provider, a served emulator."""

from __future__ import annotations

from cloudflare_byoip.emulator.server import RunningEmulator
from cloudflare_byoip.spec import StackSpec, validate_stack
from cloudflare_byoip.testing import SERVICE_BINDING_TYPE
from cloudflare_byoip.testing.replay import (
    load_stack_config,
    replay_destroy,
    replay_up,
)

from .conftest import ROOT

TOKEN = "test-token"
"""The token of the shared ``emulator`` fixture (its seed mirrors the dev seed)."""


def dev_config(emulator: RunningEmulator) -> dict[str, str]:
    config = load_stack_config(ROOT / "stacks/Pulumi.dev.yaml")
    config["cloudflare:baseUrl"] = emulator.base_url
    config["cloudflare:apiToken"] = TOKEN
    return config


def bound(emulator: RunningEmulator, spec: StackSpec) -> set[tuple[str, str, str]]:
    return {
        (str(prefix.prefix_id), b["cidr"], b["service_name"])
        for prefix in spec.prefixes
        for b in emulator.emulator.list_bindings(spec.account_id, str(prefix.prefix_id))
    }


def test_replay_up_then_destroy(emulator: RunningEmulator) -> None:
    config = dev_config(emulator)
    spec = validate_stack(config)
    seeded = {
        b["id"]
        for b in emulator.emulator.list_bindings(
            spec.account_id, str(spec.prefixes[0].prefix_id)
        )
    }

    deployment = replay_up(ROOT / "__main__.py", config)

    expected = {
        (str(p.prefix_id), cidr, service.display_name)
        for p in spec.prefixes
        for cidr, service in [
            (p.cidr, p.default_service),
            *((o.cidr, o.service) for o in p.overrides),
        ]
    }
    assert bound(emulator, spec) == expected
    assert len(deployment.bindings) == len(expected) == 8
    # Dependency order: each prefix's default binding before its overrides.
    position = {b.cidr: i for i, b in enumerate(deployment.bindings)}
    for prefix in spec.prefixes:
        for override in prefix.overrides:
            assert position[prefix.cidr] < position[override.cidr]
    # The seeded Magic Transit default on 203.0.113.0/24 was adopted.
    assert len(seeded) == 1 and seeded <= {b.id for b in deployment.bindings}
    names = {r.name for r in deployment.registrations if r.type == SERVICE_BINDING_TYPE}
    assert all("::" not in name for name in names)

    deleted = replay_destroy(deployment)

    assert len(deleted) == 5
    assert {b.cidr for b in deleted} == {
        o.cidr for p in spec.prefixes for o in p.overrides
    }
    assert bound(emulator, spec) == {
        (str(p.prefix_id), p.cidr, p.default_service.display_name)
        for p in spec.prefixes
    }


def test_second_replay_adopts_everything(emulator: RunningEmulator) -> None:
    config = dev_config(emulator)
    spec = validate_stack(config)

    first = replay_up(ROOT / "__main__.py", config)
    second = replay_up(ROOT / "__main__.py", config)

    assert {b.id for b in second.bindings} == {b.id for b in first.bindings}
    assert len(bound(emulator, spec)) == 8
