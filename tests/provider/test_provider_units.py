"""Pure pieces of the provider, in process: check, diff, listings, resource type."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pulumi
import pytest
from pulumi.output import Unknown

from cloudflare_byoip.provider import Binding, Listings, ServiceBindingProvider
from cloudflare_byoip.resource import ServiceBinding, ServiceBindingArgs
from cloudflare_byoip.testing import pulumi_mocks

ACCOUNT = "0123456789abcdef0123456789abcdef"
PREFIX = "00000000000000000000000000000a01"


def raw(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "account_id": ACCOUNT,
        "prefix_id": PREFIX,
        "cidr": "203.0.113.8/29",
        "service": "cdn",
        "__provider": "serialized",
    }
    return {**base, **changes}


def check(
    olds: dict[str, Any], news: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    result = ServiceBindingProvider().check(olds, news)
    reasons = {f.property: f.reason for f in result.failures}
    assert len(reasons) == len(result.failures), "one failure per property"
    return result.inputs, reasons


def test_check_normalises_and_fills_defaults() -> None:
    inputs, failures = check(
        {}, raw(service="Magic Transit", cidr=" 2001:DB8:100:0::/48")
    )

    assert failures == {}
    assert inputs == {
        "account_id": ACCOUNT,
        "prefix_id": PREFIX,
        "cidr": "2001:db8:100::/48",
        "service": "magic_transit",
        "adopt_existing": True,
        "wait_for_active": False,
        "wait_timeout_seconds": 900,
        "allow_disruption": False,
    }


def test_check_reports_each_bad_property_once_with_the_spec_rules() -> None:
    _, failures = check(
        {},
        raw(
            account_id="0123456789ABCDEF0123456789ABCDEF",
            prefix_id="nope",
            cidr="203.0.113.9/29",
            service="waf",
            adopt_existing="yes",
            wait_timeout_seconds=-1,
        ),
    )

    assert set(failures) == {
        "account_id",
        "prefix_id",
        "cidr",
        "service",
        "adopt_existing",
        "wait_timeout_seconds",
    }
    assert "write it as 0123456789abcdef0123456789abcdef" in failures["account_id"]
    assert "32 lowercase hexadecimal" in failures["prefix_id"]
    assert "host bits set" in failures["cidr"] and "203.0.113.8/29" in failures["cidr"]
    assert failures["service"].startswith("service: 'waf' is not a service")


def test_check_requires_the_identifying_inputs() -> None:
    _, failures = check({}, {"__provider": "serialized"})

    assert set(failures) == {"account_id", "prefix_id", "cidr", "service"}
    assert all("is required" in reason for reason in failures.values())


def test_check_skips_unknown_values() -> None:
    inputs, failures = check({}, raw(cidr=Unknown(), prefix_id=Unknown()))

    assert failures == {}
    assert isinstance(inputs["cidr"], Unknown)


@pytest.mark.parametrize(
    ("change", "key"),
    [({"cidr": "203.0.113.16/29"}, "cidr"), ({"service": "spectrum"}, "service")],
)
def test_check_guards_a_disruptive_change(change: dict[str, str], key: str) -> None:
    olds, _ = check({}, raw())

    _, failures = check(olds, raw(**change))
    _, allowed = check(olds, raw(allow_disruption=True, **change))

    assert set(failures) == {key}
    assert "deletes and recreates the binding" in failures[key]
    assert "disrupts 203.0.113.8/29 for four to six hours" in failures[key]
    assert allowed == {}


def test_check_does_not_guard_a_respelling_or_a_new_resource() -> None:
    olds, _ = check({}, raw(service="spectrum"))

    _, respelled = check(olds, raw(service="Spectrum", cidr="203.0.113.8/29 "))
    _, new = check({}, raw(cidr="203.0.113.16/29"))
    _, preview = check(olds, raw(service="spectrum", cidr=Unknown()))

    assert respelled == {} and new == {} and preview == {}


def outputs(**changes: Any) -> dict[str, Any]:
    inputs, _ = check({}, raw())
    return {**inputs, "binding_id": "b" * 32, "__provider": "old", **changes}


@pytest.mark.parametrize(
    "key, value",
    [
        ("account_id", "f" * 32),
        ("prefix_id", "e" * 32),
        ("cidr", "203.0.113.16/29"),
        ("service", "spectrum"),
    ],
)
def test_diff_replaces_identity_changes_deleting_first(key: str, value: str) -> None:
    news, _ = check({}, raw(**{key: value}))

    result = ServiceBindingProvider().diff("b" * 32, outputs(), news)

    assert result.changes is True
    assert result.replaces == [key]
    assert result.delete_before_replace is True


@pytest.mark.parametrize(
    "key, value",
    [
        ("adopt_existing", False),
        ("wait_for_active", True),
        ("wait_timeout_seconds", 60),
        ("allow_disruption", True),
    ],
)
def test_diff_updates_flags_in_place(key: str, value: Any) -> None:
    news, _ = check({}, raw(**{key: value}))

    result = ServiceBindingProvider().diff("b" * 32, outputs(), news)

    assert result.changes is True
    assert result.replaces == []


def test_diff_ignores_the_provider_and_float_numbers() -> None:
    news, _ = check({}, raw(__provider="new"))

    result = ServiceBindingProvider().diff(
        "b" * 32, outputs(wait_timeout_seconds=900.0), news
    )

    assert result.changes is False
    assert result.replaces == []


def test_diff_replaces_on_an_unknown_cidr() -> None:
    news, _ = check({}, raw(cidr=Unknown()))

    result = ServiceBindingProvider().diff("b" * 32, outputs(), news)

    assert result.replaces == ["cidr"]


def binding(id_: str) -> Binding:
    return Binding(id_, "203.0.113.8/29", "s" * 32, "CDN", "active")


def test_listings_share_one_fetch_across_threads() -> None:
    calls: list[tuple[str, str]] = []

    def fetch(key: tuple[str, str]) -> list[Binding]:
        calls.append(key)
        time.sleep(0.05)
        return [binding("a" * 32)]

    listings = Listings(fetch, ttl=5.0)
    results: list[list[Binding]] = []
    threads = [
        threading.Thread(target=lambda: results.append(listings.get(("a", "p"))))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert calls == [("a", "p")]
    assert len(results) == 8 and all(r == [binding("a" * 32)] for r in results)


def test_listings_expire_apply_own_writes_and_drop_stale_fetches() -> None:
    now = [0.0]
    served: list[list[Binding]] = [[binding("a" * 32)]]
    listings = Listings(lambda key: served[0], ttl=5.0, clock=lambda: now[0])

    assert listings.get(("a", "p")) == [binding("a" * 32)]
    listings.record(("a", "p"), binding("b" * 32))
    listings.forget(("a", "p"), "a" * 32)
    assert listings.get(("a", "p")) == [binding("b" * 32)]

    now[0] = 5.0
    served[0] = [binding("c" * 32)]
    assert listings.get(("a", "p")) == [binding("c" * 32)]

    def racing_fetch(key: tuple[str, str]) -> list[Binding]:
        racing.record(key, binding("d" * 32))
        return []

    racing = Listings(racing_fetch, ttl=5.0, clock=lambda: 0.0)
    assert racing.get(("a", "p")) == []
    assert racing._cached(("a", "p")) is None


class Mocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.types: list[str] = []

    def new_resource(
        self, args: pulumi.runtime.MockResourceArgs
    ) -> tuple[str | None, dict[str, Any]]:
        self.types.append(args.typ)
        return "b" * 32, {**args.inputs, "binding_id": "b" * 32}

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


def test_service_binding_registers_its_type_and_resolves_outputs() -> None:
    mocks = Mocks()
    seen: dict[str, Any] = {}

    def program() -> pulumi.Output[Any]:
        resource = ServiceBinding(
            "cdn",
            ServiceBindingArgs(
                account_id=ACCOUNT,
                prefix_id=PREFIX,
                cidr="203.0.113.8/29",
                service="cdn",
            ),
        )
        return pulumi.Output.all(
            resource.binding_id, resource.cidr, resource.wait_timeout_seconds
        ).apply(lambda values: seen.update(values=values))

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        with pulumi_mocks(mocks):
            pulumi.runtime.test(program)()
    finally:
        asyncio.set_event_loop(None)
        loop.close()

    assert mocks.types == ["pulumi-python:dynamic/byoip:ServiceBinding"]
    assert seen["values"] == ["b" * 32, "203.0.113.8/29", 900]
