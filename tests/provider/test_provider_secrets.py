"""The API token stays out of the pickled provider, outputs, state and logs."""

from __future__ import annotations

import secrets

from pulumi.dynamic import Config, ConfigureRequest
from pulumi.dynamic.dynamic import serialize_provider

from cloudflare_byoip.emulator.server import RunningEmulator
from cloudflare_byoip.provider import ServiceBindingProvider
from cloudflare_byoip.testing.provider_process import (
    ProviderError,
    ProviderProcess,
    provider_value,
    urn,
)
from tests.conftest import ACCOUNT_ID, PREFIX_V4_BOUND, PREFIX_V4_FREE
from tests.provider.conftest import binding_inputs, provider_config


def test_the_token_appears_nowhere_outside_the_config(
    emulator_server: RunningEmulator, emulator: RunningEmulator
) -> None:
    token = "cftoken-" + secrets.token_hex(16)
    emulator.emulator.add_token(token)
    emulator.emulator.propagation_seconds = 3600
    seen: list[str] = [provider_value()]

    with ProviderProcess(provider_config(emulator_server, token=token)) as process:
        name = urn("secret")
        raw = binding_inputs(
            PREFIX_V4_FREE,
            "198.51.100.0/24",
            "cdn",
            wait_for_active=True,
            wait_timeout_seconds=1,
        )
        inputs, _ = process.check(name, {}, raw)
        id_, outputs = process.create(name, inputs)
        _, refreshed, _ = process.read(id_, name, outputs)
        updated = process.update(
            id_, name, outputs, {**inputs, "allow_disruption": True}
        )
        process.delete(id_, name, updated)
        process.delete(id_, name, updated)
        try:
            mt = binding_inputs(PREFIX_V4_BOUND, "203.0.113.8/29", "magic_transit")
            process.create(urn("bad"), process.check(urn("bad"), {}, mt)[0])
        except ProviderError as error:
            seen.append(error.details)
        seen += [repr(inputs), repr(outputs), repr(refreshed), repr(updated)]
    # Read after the process has ended, so every line it wrote is there.
    seen += [process.stdout, process.stderr]

    assert "warning: create 198.51.100.0/24" in process.stderr
    assert len(seen) == 8
    for text in seen:
        assert token not in text
    assert token not in repr(emulator.emulator.snapshot())
    assert emulator.emulator.list_bindings(ACCOUNT_ID, PREFIX_V4_FREE) == []


def test_a_configured_provider_pickles_without_its_token_or_client() -> None:
    token = "cftoken-" + secrets.token_hex(16)
    provider = ServiceBindingProvider()
    before = serialize_provider(provider)
    config = Config({"cloudflare:apiToken": token}, "byoip")

    provider.configure(ConfigureRequest(config))
    provider._client()._clients()

    assert serialize_provider(provider) == before
    assert token not in repr(provider._client().settings)


def test_the_token_and_endpoint_fall_back_to_the_environment(
    emulator_server: RunningEmulator, emulator: RunningEmulator
) -> None:
    env = {
        "CLOUDFLARE_API_TOKEN": "test-token",
        "CLOUDFLARE_BASE_URL": emulator_server.base_url,
    }
    with ProviderProcess({}, env) as process:
        raw = binding_inputs(PREFIX_V4_FREE, "198.51.100.0/24", "spectrum")
        inputs, _ = process.check(urn("env"), {}, raw)
        id_, _ = process.create(urn("env"), inputs)

    live = emulator.emulator.list_bindings(ACCOUNT_ID, PREFIX_V4_FREE)
    assert [b["id"] for b in live] == [id_]
