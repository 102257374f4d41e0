"""ByoipMocks: realistic answers, the API's rules, and a test as a user writes it."""

from __future__ import annotations

import re
from typing import Any

import pulumi
import pulumi_cloudflare
import pytest

from cloudflare_byoip.emulator.models import Emulator
from cloudflare_byoip.resource import ServiceBinding, ServiceBindingArgs
from cloudflare_byoip.testing import (
    SERVICE_BINDING_TYPE,
    ByoipMocks,
    MockedApiError,
    pulumi_mocks,
)

from .conftest import ACCOUNT, PREFIX_BOUND, PREFIX_V4, Run

HEX32 = re.compile(r"[0-9a-f]{32}")


def binding(name: str, cidr: str, service: str, prefix_id: str = PREFIX_V4) -> None:
    ServiceBinding(
        name,
        ServiceBindingArgs(
            account_id=ACCOUNT, prefix_id=prefix_id, cidr=cidr, service=service
        ),
    )


def test_binding_outputs_are_realistic(run: Run, mocks: ByoipMocks) -> None:
    monitor = run(lambda: binding("web", "198.51.100.0/24", "cdn"))

    [registration] = monitor.of_type(SERVICE_BINDING_TYPE)
    outputs = registration.outputs
    services = {s["name"]: s["id"] for s in mocks.emulator.list_services(ACCOUNT)}
    assert registration.id is not None and HEX32.fullmatch(registration.id)
    assert outputs["binding_id"] == registration.id
    assert outputs["service_id"] == services["CDN"]
    assert outputs["service_name"] == "CDN"
    assert outputs["provisioning_state"] == "provisioning"
    assert outputs["cidr"] == "198.51.100.0/24"
    [stored] = mocks.emulator.list_bindings(ACCOUNT, PREFIX_V4)
    assert stored["id"] == registration.id


def test_second_binding_on_a_bound_cidr_fails_as_the_api_does(run: Run) -> None:
    def program() -> None:
        binding("first", "198.51.100.0/24", "cdn")
        binding("second", "198.51.100.0/24", "spectrum")

    with pytest.raises(MockedApiError) as raised:
        run(program)

    assert (raised.value.status, raised.value.code) == (400, 1003)
    assert "already has a binding" in raised.value.message


def test_first_binding_must_cover_the_prefix(run: Run, mocks: ByoipMocks) -> None:
    with pytest.raises(MockedApiError, match="must cover the whole prefix"):
        run(lambda: binding("part", "198.51.100.64/26", "spectrum"))
    assert mocks.emulator.list_bindings(ACCOUNT, PREFIX_V4) == []


def test_magic_transit_override_is_refused(run: Run) -> None:
    with pytest.raises(MockedApiError, match="Magic Transit can only be"):
        run(
            lambda: binding(
                "mt", "203.0.113.64/26", "magic_transit", prefix_id=PREFIX_BOUND
            )
        )


def test_identical_binding_is_adopted(run: Run, mocks: ByoipMocks) -> None:
    [seeded] = mocks.emulator.list_bindings(ACCOUNT, PREFIX_BOUND)
    monitor = run(
        lambda: binding("edge", "203.0.113.0/24", "magic_transit", PREFIX_BOUND)
    )
    assert monitor.by_name("edge").id == seeded["id"]
    assert mocks.emulator.list_bindings(ACCOUNT, PREFIX_BOUND) == [seeded]


def test_byoip_prefix_gets_an_id_and_joins_the_model(
    run: Run, mocks: ByoipMocks
) -> None:
    def program() -> None:
        prefix = pulumi_cloudflare.ByoIpPrefix(
            "lab",
            pulumi_cloudflare.ByoIpPrefixArgs(
                account_id=ACCOUNT, asn=64501, cidr="192.0.2.0/24"
            ),
        )
        ServiceBinding(
            "lab-default",
            ServiceBindingArgs(
                account_id=ACCOUNT,
                prefix_id=prefix.id,
                cidr="192.0.2.0/24",
                service="spectrum",
            ),
        )

    monitor = run(program)

    prefix_id = monitor.by_name("lab").id
    assert prefix_id is not None and HEX32.fullmatch(prefix_id)
    state = monitor.by_name("lab").outputs
    assert (state["asn"], state["approved"], state["cidr"]) == (
        64501,
        "V",
        "192.0.2.0/24",
    )
    assert mocks.emulator.get_prefix(ACCOUNT, prefix_id)["cidr"] == "192.0.2.0/24"
    [stored] = mocks.emulator.list_bindings(ACCOUNT, prefix_id)
    assert stored["service_name"] == "Spectrum"


def test_pulumi_mocks_restores_global_state() -> None:
    before = pulumi.get_stack()
    with pulumi_mocks(ByoipMocks(), stack="elsewhere", config={"byoip:x": "1"}):
        assert pulumi.get_stack() == "elsewhere"
        assert pulumi.Config("byoip").get("x") == "1"
    assert pulumi.get_stack() == before
    assert pulumi.Config("byoip").get("x") is None


# What follows is the README's example, as a user would write it.

from cloudflare_byoip import ByoipPrefixWithBindings, ByoipPrefixWithBindingsArgs  # noqa: E402

USER_ACCOUNT = "0123456789abcdef0123456789abcdef"
USER_PREFIX = "00000000000000000000000000000a02"


def test_web_prefix_sends_a_range_to_spectrum() -> None:
    mocks = ByoipMocks()
    mocks.emulator.add_account(USER_ACCOUNT)
    mocks.emulator.add_prefix(USER_ACCOUNT, USER_PREFIX, "198.51.100.0/24")

    with pulumi_mocks(mocks) as monitor:

        @pulumi.runtime.test
        def program() -> pulumi.Output[Any]:
            web = ByoipPrefixWithBindings(
                "web",
                ByoipPrefixWithBindingsArgs(
                    account_id=USER_ACCOUNT,
                    prefix_id=USER_PREFIX,
                    cidr="198.51.100.0/24",
                    default_service="cdn",
                    overrides=[{"cidr": "198.51.100.64/26", "service": "spectrum"}],
                ),
            )
            return web.bindings

        program()

    bound = mocks.emulator.list_bindings(USER_ACCOUNT, USER_PREFIX)
    assert {(b["cidr"], b["service_name"]) for b in bound} == {
        ("198.51.100.0/24", "CDN"),
        ("198.51.100.64/26", "Spectrum"),
    }
    assert len(monitor.of_type("pulumi-python:dynamic/byoip:ServiceBinding")) == 2


def test_emulator_model_can_be_shared() -> None:
    model = Emulator()
    model.add_account(USER_ACCOUNT)
    assert ByoipMocks(model).emulator is model
