"""The provider's life cycle through the real provider process, over gRPC."""

from __future__ import annotations

from typing import Any

import pytest

from cloudflare_byoip.emulator.server import RunningEmulator
from cloudflare_byoip.testing.provider_process import (
    ProviderError,
    ProviderProcess,
    urn,
)
from tests.conftest import (
    ACCOUNT_ID,
    DEFAULT_BINDING_ID,
    PREFIX_V4_BOUND,
    PREFIX_V4_FREE,
    PREFIX_V6_FREE,
)
from tests.provider.conftest import RequestLog, binding_inputs


def bindings(running: RunningEmulator, prefix_id: str) -> list[dict[str, Any]]:
    return running.emulator.list_bindings(ACCOUNT_ID, prefix_id)


def create(
    provider: ProviderProcess, name: str, raw: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """Check then create, as the engine does for a new resource."""
    inputs, failures = provider.check(urn(name), {}, raw)
    assert failures == []
    return provider.create(urn(name), inputs)


def test_create_returns_the_binding_and_full_outputs(
    provider: ProviderProcess, emulator: RunningEmulator
) -> None:
    id_, outputs = create(
        provider,
        "cdn",
        binding_inputs(PREFIX_V4_BOUND, "203.0.113.8/29", "CDN"),
    )

    [live] = [b for b in bindings(emulator, PREFIX_V4_BOUND) if b["id"] == id_]
    assert live["cidr"] == "203.0.113.8/29"
    assert live["service_name"] == "CDN"
    assert outputs == {
        "account_id": ACCOUNT_ID,
        "prefix_id": PREFIX_V4_BOUND,
        "cidr": "203.0.113.8/29",
        "service": "cdn",
        "adopt_existing": True,
        "wait_for_active": False,
        "wait_timeout_seconds": 900,
        "allow_disruption": False,
        "binding_id": id_,
        "service_id": live["service_id"],
        "service_name": "CDN",
        "provisioning_state": "provisioning",
    }


def test_create_adopts_the_existing_default_binding(
    provider: ProviderProcess, emulator: RunningEmulator, requests_log: RequestLog
) -> None:
    logged = len(provider.stderr)
    id_, outputs = create(
        provider,
        "default",
        binding_inputs(PREFIX_V4_BOUND, "203.0.113.0/24", "magic_transit"),
    )

    assert id_ == DEFAULT_BINDING_ID
    assert outputs["binding_id"] == DEFAULT_BINDING_ID
    assert len(bindings(emulator, PREFIX_V4_BOUND)) == 1
    assert requests_log.count("POST") == 0
    expected = "adopting existing magic_transit binding"
    assert expected in provider.stderr_since(logged, expected)


def test_adopt_existing_false_refuses_an_existing_binding(
    provider: ProviderProcess, emulator: RunningEmulator
) -> None:
    raw = binding_inputs(
        PREFIX_V4_BOUND, "203.0.113.0/24", "magic_transit", adopt_existing=False
    )
    inputs, _ = provider.check(urn("default"), {}, raw)

    with pytest.raises(ProviderError) as caught:
        provider.create(urn("default"), inputs)

    message = caught.value.message
    assert message.endswith(
        "create 203.0.113.0/24: the CIDR already has a magic_transit binding "
        f"({DEFAULT_BINDING_ID}) and adopt_existing is false; set adopt_existing "
        "to true to manage it, or delete it first"
    )
    assert len(bindings(emulator, PREFIX_V4_BOUND)) == 1


def test_create_refuses_a_cidr_bound_to_another_service(
    provider: ProviderProcess, emulator: RunningEmulator
) -> None:
    raw = binding_inputs(PREFIX_V4_BOUND, "203.0.113.0/24", "cdn")
    inputs, _ = provider.check(urn("default"), {}, raw)

    with pytest.raises(ProviderError) as caught:
        provider.create(urn("default"), inputs)

    message = caught.value.message
    assert "create 203.0.113.0/24: the CIDR is already bound to magic_transit" in (
        message
    )
    assert bindings(emulator, PREFIX_V4_BOUND)[0]["service_name"] == "Magic Transit"


def test_refresh_reads_state_and_drops_a_binding_deleted_outside_pulumi(
    provider: ProviderProcess, emulator: RunningEmulator
) -> None:
    id_, outputs = create(
        provider, "v6", binding_inputs(PREFIX_V6_FREE, "2001:db8:100::/48", "cdn")
    )
    emulator.emulator.propagation_seconds = 0

    read_id, refreshed, _ = provider.read(id_, urn("v6"), outputs)
    assert read_id == id_
    assert refreshed == {**outputs, "provisioning_state": "active"}

    emulator.emulator.delete_binding(ACCOUNT_ID, PREFIX_V6_FREE, id_)
    logged = len(provider.stderr)
    gone_id, gone, _ = provider.read(id_, urn("v6"), refreshed)
    assert gone_id == ""
    assert gone == {}
    expected = "no longer exists at Cloudflare"
    assert expected in provider.stderr_since(logged, expected)


def test_refresh_of_a_binding_whose_prefix_is_gone_drops_it(
    provider: ProviderProcess, emulator: RunningEmulator
) -> None:
    outputs = binding_inputs("ffffffffffffffffffffffffffffffff", "192.0.2.0/24", "cdn")

    read_id, _, _ = provider.read("ab" * 16, urn("lost"), outputs)

    assert read_id == ""


def test_update_changes_flags_in_place_and_returns_full_outputs(
    provider: ProviderProcess, emulator: RunningEmulator, requests_log: RequestLog
) -> None:
    id_, outputs = create(
        provider, "sp", binding_inputs(PREFIX_V4_BOUND, "203.0.113.64/26", "spectrum")
    )
    news, failures = provider.check(
        urn("sp"),
        {k: v for k, v in outputs.items() if k in news_keys()},
        {**outputs, "allow_disruption": True, "wait_timeout_seconds": 60},
    )
    assert failures == []
    diff = provider.diff(id_, urn("sp"), outputs, news)
    assert (diff.changes, diff.replaces) == ("some", ())

    requests_log.clear()
    updated = provider.update(id_, urn("sp"), outputs, news)

    assert updated == {**outputs, "allow_disruption": True, "wait_timeout_seconds": 60}
    assert requests_log.count() == 0
    assert [b["id"] for b in bindings(emulator, PREFIX_V4_BOUND)][-1] == id_


def news_keys() -> set[str]:
    return {
        "account_id",
        "prefix_id",
        "cidr",
        "service",
        "adopt_existing",
        "wait_for_active",
        "wait_timeout_seconds",
        "allow_disruption",
    }


def test_replace_deletes_before_creating_on_the_same_cidr(
    provider: ProviderProcess, emulator: RunningEmulator
) -> None:
    old_id, outputs = create(
        provider, "ovr", binding_inputs(PREFIX_V4_BOUND, "203.0.113.8/29", "cdn")
    )
    old_inputs = {k: v for k, v in outputs.items() if k in news_keys()}
    news, failures = provider.check(
        urn("ovr"),
        old_inputs,
        {**old_inputs, "service": "spectrum", "allow_disruption": True},
    )
    assert failures == []

    diff = provider.diff(old_id, urn("ovr"), outputs, news)
    assert diff.changes == "some"
    assert diff.replaces == ("service",)
    assert diff.delete_before_replace is True

    provider.delete(old_id, urn("ovr"), outputs)
    new_id, new_outputs = provider.create(urn("ovr"), news)

    on_cidr = [
        b for b in bindings(emulator, PREFIX_V4_BOUND) if b["cidr"] == "203.0.113.8/29"
    ]
    assert [(b["id"], b["service_name"]) for b in on_cidr] == [(new_id, "Spectrum")]
    assert new_id != old_id
    assert new_outputs["service"] == "spectrum"


def test_disruption_guard_refuses_a_cidr_change_through_grpc(
    provider: ProviderProcess, emulator: RunningEmulator
) -> None:
    olds = binding_inputs(PREFIX_V4_BOUND, "203.0.113.8/29", "cdn")
    _, failures = provider.check(urn("ovr"), olds, {**olds, "cidr": "203.0.113.16/29"})

    assert len(failures) == 1
    prop, reason = failures[0]
    assert prop == "cidr"
    assert "deletes and recreates the binding" in reason
    assert "four to six hours" in reason
    assert "set allow_disruption to true" in reason


def test_delete_is_idempotent(
    provider: ProviderProcess, emulator: RunningEmulator, requests_log: RequestLog
) -> None:
    id_, outputs = create(
        provider, "del", binding_inputs(PREFIX_V4_FREE, "198.51.100.0/24", "cdn")
    )

    provider.delete(id_, urn("del"), outputs)
    provider.delete(id_, urn("del"), outputs)

    assert bindings(emulator, PREFIX_V4_FREE) == []
    assert requests_log.count("DELETE", f"/bindings/{id_}", 200) == 1
    assert requests_log.count("DELETE", f"/bindings/{id_}", 404) == 1


def test_wait_for_active_returns_once_active(
    provider: ProviderProcess, emulator: RunningEmulator
) -> None:
    emulator.emulator.propagation_seconds = 0.5

    id_, outputs = create(
        provider,
        "wait",
        binding_inputs(
            PREFIX_V4_FREE, "198.51.100.0/24", "spectrum", wait_for_active=True
        ),
    )

    assert outputs["provisioning_state"] == "active"
    assert outputs["binding_id"] == id_


def test_wait_for_active_times_out_with_a_warning_and_keeps_the_binding(
    provider: ProviderProcess, emulator: RunningEmulator
) -> None:
    emulator.emulator.propagation_seconds = 3600
    logged = len(provider.stderr)

    id_, outputs = create(
        provider,
        "slow",
        binding_inputs(
            PREFIX_V4_FREE,
            "198.51.100.0/24",
            "spectrum",
            wait_for_active=True,
            wait_timeout_seconds=1,
        ),
    )

    assert outputs["provisioning_state"] == "provisioning"
    assert [b["id"] for b in bindings(emulator, PREFIX_V4_FREE)] == [id_]
    warning = f"warning: create 198.51.100.0/24: binding {id_} is still provisioning"
    assert warning in provider.stderr_since(logged, warning)


def test_a_wrong_endpoint_fails_refresh_instead_of_dropping_the_binding(
    emulator_server: RunningEmulator, emulator: RunningEmulator
) -> None:
    config = {
        "cloudflare:apiToken": "test-token",
        "cloudflare:baseUrl": emulator_server.root_url + "/wrong/v4",
    }
    outputs = {
        **binding_inputs(PREFIX_V4_BOUND, "203.0.113.0/24", "magic_transit"),
        "binding_id": DEFAULT_BINDING_ID,
    }
    with ProviderProcess(config) as process:
        with pytest.raises(ProviderError) as read_error:
            process.read(DEFAULT_BINDING_ID, urn("default"), outputs)
        with pytest.raises(ProviderError) as delete_error:
            process.delete(DEFAULT_BINDING_ID, urn("default"), outputs)

    assert "read 203.0.113.0/24: Cloudflare error 7000" in read_error.value.message
    assert "delete 203.0.113.0/24: Cloudflare error 7000" in delete_error.value.message
    assert len(bindings(emulator, PREFIX_V4_BOUND)) == 1
