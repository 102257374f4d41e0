"""API calls per operation: services listed once, one List per prefix refresh."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from cloudflare_byoip.emulator.server import RunningEmulator
from cloudflare_byoip.testing.provider_process import ProviderProcess, urn
from tests.conftest import ACCOUNT_ID, PREFIX_V4_FREE
from tests.provider.conftest import RequestLog, binding_inputs, provider_config

OVERRIDES = [f"198.51.100.{i}/32" for i in range(1, 21)]


@pytest.fixture
def cached_provider(emulator_server: RunningEmulator) -> Iterator[ProviderProcess]:
    """A fresh provider process with the default listing cache (5 s)."""
    with ProviderProcess(provider_config(emulator_server)) as process:
        yield process


def seeded_outputs(running: RunningEmulator) -> list[dict[str, Any]]:
    """20 CDN overrides on a Spectrum default, made outside the provider."""
    model = running.emulator
    model.add_binding(ACCOUNT_ID, PREFIX_V4_FREE, "198.51.100.0/24", "spectrum")
    outputs = []
    for cidr in OVERRIDES:
        made = model.add_binding(ACCOUNT_ID, PREFIX_V4_FREE, cidr, "cdn")
        outputs.append(
            {**binding_inputs(PREFIX_V4_FREE, cidr, "cdn"), "binding_id": made["id"]}
        )
    return outputs


def test_refreshing_a_prefix_costs_one_list_call(
    cached_provider: ProviderProcess,
    emulator: RunningEmulator,
    requests_log: RequestLog,
) -> None:
    outputs = seeded_outputs(emulator)

    def read(props: dict[str, Any]) -> str:
        return cached_provider.read(props["binding_id"], urn(props["cidr"]), props)[0]

    with ThreadPoolExecutor(4) as pool:
        ids = list(pool.map(read, outputs))

    assert ids == [props["binding_id"] for props in outputs]
    assert requests_log.count("GET", f"/prefixes/{PREFIX_V4_FREE}/bindings") == 1
    assert requests_log.count() == 1


def test_creates_list_services_once_and_post_once_each(
    cached_provider: ProviderProcess,
    emulator: RunningEmulator,
    requests_log: RequestLog,
) -> None:
    emulator.emulator.add_binding(
        ACCOUNT_ID, PREFIX_V4_FREE, "198.51.100.0/24", "spectrum"
    )

    def create(cidr: str) -> str:
        inputs, _ = cached_provider.check(
            urn(cidr), {}, binding_inputs(PREFIX_V4_FREE, cidr, "cdn")
        )
        return cached_provider.create(urn(cidr), inputs)[0]

    with ThreadPoolExecutor(4) as pool:
        ids = list(pool.map(create, OVERRIDES))

    live = emulator.emulator.list_bindings(ACCOUNT_ID, PREFIX_V4_FREE)
    assert sorted(ids) == sorted(b["id"] for b in live if b["service_name"] == "CDN")
    assert requests_log.count("GET", "/addressing/services") == 1
    assert requests_log.count("POST") == len(OVERRIDES)
    assert requests_log.count("GET", "/bindings") == 1
