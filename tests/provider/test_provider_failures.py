"""API failures through the provider process: lost answers, rate limits, errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from cloudflare_byoip.emulator.faults import EVERY_CREATE
from cloudflare_byoip.emulator.server import RunningEmulator
from cloudflare_byoip.testing.provider_process import (
    ProviderError,
    ProviderProcess,
    urn,
)
from tests.conftest import ACCOUNT_ID, PREFIX_V4_BOUND, PREFIX_V4_FREE
from tests.provider.conftest import RequestLog, binding_inputs, provider_config


def checked(provider: ProviderProcess, name: str, raw: dict[str, Any]) -> Any:
    inputs, failures = provider.check(urn(name), {}, raw)
    assert failures == []
    return inputs


def on_cidr(running: RunningEmulator, prefix_id: str, cidr: str) -> list[Any]:
    return [
        b
        for b in running.emulator.list_bindings(ACCOUNT_ID, prefix_id)
        if b["cidr"] == cidr
    ]


@pytest.mark.parametrize("adopt_existing", [True, False])
def test_a_create_committed_then_answered_500_leaves_exactly_one_binding(
    provider: ProviderProcess,
    emulator: RunningEmulator,
    requests_log: RequestLog,
    adopt_existing: bool,
) -> None:
    inputs = checked(
        provider,
        "lost",
        binding_inputs(
            PREFIX_V4_BOUND, "203.0.113.32/27", "cdn", adopt_existing=adopt_existing
        ),
    )
    emulator.faults.fail_after_create = EVERY_CREATE

    id_, outputs = provider.create(urn("lost"), inputs)

    [binding] = on_cidr(emulator, PREFIX_V4_BOUND, "203.0.113.32/27")
    assert binding["id"] == id_ == outputs["binding_id"]
    assert requests_log.count("POST", "/bindings", 500) == 1
    assert requests_log.count("POST") == 1


def test_random_5xx_answers_are_retried(
    provider: ProviderProcess, emulator: RunningEmulator, requests_log: RequestLog
) -> None:
    emulator.faults.reseed(7)
    emulator.faults.fail_rate = 0.3
    ids = []
    for i, cidr in enumerate(["203.0.113.8/29", "203.0.113.16/29", "203.0.113.24/29"]):
        inputs = checked(
            provider, f"r{i}", binding_inputs(PREFIX_V4_BOUND, cidr, "spectrum")
        )
        ids.append(provider.create(urn(f"r{i}"), inputs)[0])

    live = emulator.emulator.list_bindings(ACCOUNT_ID, PREFIX_V4_BOUND)
    assert sorted(b["id"] for b in live if b["service_name"] == "Spectrum") == sorted(
        ids
    )
    assert emulator.faults.injected_failures > 0
    assert requests_log.count(status=500) + requests_log.count(
        status=502
    ) + requests_log.count(status=503) == (emulator.faults.injected_failures)


def test_the_rate_limit_is_ridden_through(
    provider: ProviderProcess, emulator: RunningEmulator, requests_log: RequestLog
) -> None:
    emulator.faults.rate_limit = 2
    emulator.faults.rate_limit_window = 1.0
    inputs = checked(
        provider, "rl", binding_inputs(PREFIX_V4_FREE, "198.51.100.0/24", "cdn")
    )

    id_, outputs = provider.create(urn("rl"), inputs)
    read_id, _, _ = provider.read(id_, urn("rl"), outputs)

    assert read_id == id_
    assert [b["id"] for b in on_cidr(emulator, PREFIX_V4_FREE, "198.51.100.0/24")] == [
        id_
    ]
    assert requests_log.count(status=429) >= 1


def test_an_api_rule_violation_is_one_readable_line(
    provider: ProviderProcess, emulator: RunningEmulator
) -> None:
    inputs = checked(
        provider,
        "mt",
        binding_inputs(PREFIX_V4_BOUND, "203.0.113.8/29", "magic_transit"),
    )

    with pytest.raises(ProviderError) as caught:
        provider.create(urn("mt"), inputs)

    error = caught.value
    assert error.message.startswith(
        "cloudflare_byoip.provider.ServiceBindingError: create 203.0.113.8/29: "
        "Cloudflare error 1003: Unsupported binding configuration: Magic Transit "
        "can only be a prefix's default binding"
    )
    assert error.message.endswith(
        "; check the binding against Cloudflare's binding rules and prefix_id"
    )
    assert "cloudflare/_base_client.py" not in error.details
    assert "During handling" not in error.details
    assert on_cidr(emulator, PREFIX_V4_BOUND, "203.0.113.8/29") == []


@pytest.fixture
def fragile_provider(
    emulator_server: RunningEmulator,
) -> Iterator[ProviderProcess]:
    config = provider_config(emulator_server, **{"byoip:maxRetries": "1"})
    with ProviderProcess(config) as process:
        yield process


def test_retries_are_bounded_by_byoip_max_retries(
    fragile_provider: ProviderProcess,
    emulator: RunningEmulator,
    requests_log: RequestLog,
) -> None:
    inputs = checked(
        fragile_provider,
        "down",
        binding_inputs(PREFIX_V4_FREE, "198.51.100.0/24", "cdn"),
    )
    emulator.faults.fail_rate = 1.0

    with pytest.raises(ProviderError) as caught:
        fragile_provider.create(urn("down"), inputs)

    assert requests_log.count("GET", "/addressing/services") == 2
    assert requests_log.count() == 2
    assert "create 198.51.100.0/24: Cloudflare error 10001: Injected fault" in (
        caught.value.message
    )
    assert caught.value.message.endswith(
        "Cloudflare kept failing after byoip:maxRetries retries; try again later"
    )


def test_a_wrong_token_names_the_config_key(
    emulator_server: RunningEmulator, emulator: RunningEmulator
) -> None:
    config = provider_config(emulator_server, token="not-the-token-0123")
    with ProviderProcess(config) as process:
        inputs, _ = process.check(
            urn("auth"), {}, binding_inputs(PREFIX_V4_FREE, "198.51.100.0/24", "cdn")
        )
        with pytest.raises(ProviderError) as caught:
            process.create(urn("auth"), inputs)

    message = caught.value.message
    assert "create 198.51.100.0/24: Cloudflare error 10000: Authentication error" in (
        message
    )
    assert "check cloudflare:apiToken (or CLOUDFLARE_API_TOKEN)" in message
    assert "not-the-token-0123" not in caught.value.details


def test_no_token_at_all_says_how_to_set_one(
    emulator_server: RunningEmulator, emulator: RunningEmulator
) -> None:
    config = {"cloudflare:baseUrl": emulator_server.base_url}
    with ProviderProcess(config) as process:
        inputs, failures = process.check(
            urn("none"), {}, binding_inputs(PREFIX_V4_FREE, "198.51.100.0/24", "cdn")
        )
        assert failures == []
        with pytest.raises(ProviderError) as caught:
            process.create(urn("none"), inputs)

    assert caught.value.message.endswith(
        "create 198.51.100.0/24: no Cloudflare API token: set it with `pulumi config "
        "set --secret cloudflare:apiToken <token>` or the CLOUDFLARE_API_TOKEN "
        "environment variable"
    )


def test_an_invalid_max_retries_fails_configuration_clearly(
    emulator_server: RunningEmulator, emulator: RunningEmulator
) -> None:
    config = provider_config(emulator_server, **{"byoip:maxRetries": "lots"})
    with ProviderProcess(config) as process, pytest.raises(ProviderError) as caught:
        process.check(
            urn("cfg"), {}, binding_inputs(PREFIX_V4_FREE, "198.51.100.0/24", "cdn")
        )

    assert caught.value.message.endswith(
        "byoip:maxRetries: 'lots' is not a number of retries; set it to a whole "
        "number from 0 to 10"
    )
