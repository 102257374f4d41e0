"""ByoipPrefixWithBindings under emulator-backed mocks: children, options, outputs."""

from __future__ import annotations

import ipaddress
from typing import Any

import pulumi
import pytest

from cloudflare_byoip.component import (
    COMPONENT_TYPE,
    ByoipPrefixWithBindings,
    ByoipPrefixWithBindingsArgs,
    ByoipPrefixWithBindingsError,
)
from cloudflare_byoip.spec import OverrideSpec, Service, SpecError
from cloudflare_byoip.testing import (
    BYOIP_PREFIX_TYPE,
    SERVICE_BINDING_TYPE,
    ByoipMocks,
    MockedApiError,
    Registration,
)

from .conftest import ACCOUNT, PREFIX_BOUND, PREFIX_V4, PREFIX_V6, Run

V4_OVERRIDES: list[dict[str, str]] = [
    {"cidr": "198.51.100.64/26", "service": "spectrum"},
    {"cidr": "198.51.100.8/29", "service": "spectrum"},
    {"cidr": "198.51.100.128/25", "service": "spectrum"},
]


def v4_args(**changes: Any) -> ByoipPrefixWithBindingsArgs:
    values: dict[str, Any] = {
        "account_id": ACCOUNT,
        "prefix_id": PREFIX_V4,
        "cidr": "198.51.100.0/24",
        "default_service": "cdn",
        "overrides": V4_OVERRIDES,
    }
    values.update(changes)
    return ByoipPrefixWithBindingsArgs(**values)


def bindings_of(registrations: list[Registration]) -> list[Registration]:
    return [r for r in registrations if r.type == SERVICE_BINDING_TYPE]


def test_registers_the_component_and_one_binding_per_cidr(run: Run) -> None:
    monitor = run(lambda: ByoipPrefixWithBindings("web", v4_args()))

    types = sorted(r.type for r in monitor.registrations)
    assert types == [COMPONENT_TYPE] + [SERVICE_BINDING_TYPE] * 4
    cidrs = {
        r.inputs["cidr"]: r.inputs["service"]
        for r in bindings_of(monitor.registrations)
    }
    assert cidrs == {
        "198.51.100.0/24": "cdn",
        "198.51.100.64/26": "spectrum",
        "198.51.100.8/29": "spectrum",
        "198.51.100.128/25": "spectrum",
    }


def test_bindings_are_children_of_the_component(run: Run) -> None:
    monitor = run(lambda: ByoipPrefixWithBindings("web", v4_args()))

    component = monitor.by_name("web")
    assert not component.custom
    assert component.parent.endswith("::pulumi:pulumi:Stack::project-stack")
    for binding in bindings_of(monitor.registrations):
        assert binding.custom
        assert binding.parent == component.urn
        assert binding.urn.split("::")[2] == f"{COMPONENT_TYPE}${SERVICE_BINDING_TYPE}"


def test_every_override_depends_on_the_default_binding(run: Run) -> None:
    monitor = run(lambda: ByoipPrefixWithBindings("web", v4_args()))

    default = monitor.by_name("web-198.51.100.0_24")
    overrides = [b for b in bindings_of(monitor.registrations) if b is not default]
    assert len(overrides) == 3
    assert default.dependencies == []
    for override in overrides:
        assert override.dependencies == [default.urn]


def test_default_is_retained_and_overrides_are_not(run: Run) -> None:
    monitor = run(lambda: ByoipPrefixWithBindings("web", v4_args()))

    retained = {b.name: b.retain_on_delete for b in bindings_of(monitor.registrations)}
    assert retained.pop("web-198.51.100.0_24") is True
    assert set(retained.values()) == {False}
    assert {b.protect for b in bindings_of(monitor.registrations)} == {False}


def test_retain_default_off_and_protect_on(run: Run) -> None:
    args = v4_args(retain_default_on_delete=False, protect_bindings=True)
    monitor = run(lambda: ByoipPrefixWithBindings("web", args))

    bindings = bindings_of(monitor.registrations)
    assert {b.retain_on_delete for b in bindings} == {False}
    assert {b.protect for b in bindings} == {True}
    assert not monitor.by_name("web").protect


def test_reordering_overrides_changes_no_urn(run: Run, mocks: ByoipMocks) -> None:
    first = run(lambda: ByoipPrefixWithBindings("web", v4_args()))
    reordered = v4_args(overrides=list(reversed(V4_OVERRIDES)))
    second = run(lambda: ByoipPrefixWithBindings("web", reordered))

    def by_urn(registrations: list[Registration]) -> dict[str, tuple[str, str]]:
        return {
            r.urn: (r.inputs["cidr"], r.inputs["service"])
            for r in bindings_of(registrations)
        }

    assert by_urn(first.registrations) == by_urn(second.registrations)
    assert len(by_urn(first.registrations)) == 4
    # The second run adopted the first run's bindings: nothing new at the API.
    assert len(mocks.emulator.list_bindings(ACCOUNT, PREFIX_V4)) == 4


def test_ipv6_names_are_urn_safe(run: Run) -> None:
    args = ByoipPrefixWithBindingsArgs(
        account_id=ACCOUNT,
        prefix_id=PREFIX_V6,
        cidr="2001:db8:100::/48",
        default_service=Service.MAGIC_TRANSIT,
        overrides=[
            OverrideSpec(cidr="2001:db8:100:1::/64", service=Service.CDN),
            {"cidr": "2001:db8:100:2:8000::/65", "service": "spectrum"},
        ],
    )
    monitor = run(lambda: ByoipPrefixWithBindings("edge-v6", args))

    names = sorted(b.name for b in bindings_of(monitor.registrations))
    assert names == [
        "edge-v6-2001-db8-100-1_64",
        "edge-v6-2001-db8-100-2-8000_65",
        "edge-v6-2001-db8-100_48",
    ]
    for registration in monitor.registrations:
        name_part = registration.urn.split("::", 3)[3]
        assert "::" not in name_part and ":" not in name_part


def test_invalid_prefix_raises_every_problem_and_registers_nothing(run: Run) -> None:
    args = v4_args(
        account_id="0123456789ABCDEF0123456789ABCDEF",
        overrides=[
            {"cidr": "198.51.100.0/25", "service": "magic_transit"},
            {"cidr": "198.51.100.64/26", "service": "spectrum"},
            {"cidr": "203.0.113.0/29", "service": "spectrum"},
        ],
    )
    with pytest.raises(ByoipPrefixWithBindingsError) as raised:
        run(lambda: ByoipPrefixWithBindings("web", args))

    error = raised.value
    assert isinstance(error, pulumi.RunError) and isinstance(error, SpecError)
    paths = [path for path, _ in error.problems]
    assert paths == [
        "web.accountId",
        "web.overrides[0].service",
        "web.overrides[1].cidr",
        "web.overrides[2].cidr",
    ]
    text = str(error)
    assert text.startswith("ByoipPrefixWithBindings 'web' has 4 problems")
    assert "Magic Transit can only be a prefix's default binding" in text
    assert "Traceback" not in text


def test_validation_failure_registers_nothing(mocks: ByoipMocks) -> None:
    from cloudflare_byoip.testing import pulumi_mocks

    args = v4_args(cidr="198.51.100.0/25")
    with pulumi_mocks(mocks) as monitor:
        with pytest.raises(ByoipPrefixWithBindingsError, match=r"web\.cidr"):
            pulumi.runtime.test(lambda: ByoipPrefixWithBindings("web", args))()
        assert monitor.registrations == []
    assert mocks.emulator.list_bindings(ACCOUNT, PREFIX_V4) == []


def test_prefix_id_or_asn_is_required(run: Run) -> None:
    with pytest.raises(ByoipPrefixWithBindingsError) as neither:
        run(lambda: ByoipPrefixWithBindings("web", v4_args(prefix_id=None)))
    with pytest.raises(ByoipPrefixWithBindingsError) as both:
        run(lambda: ByoipPrefixWithBindings("web", v4_args(asn=64496)))

    assert [p for p, _ in neither.value.problems] == ["web.prefixId"]
    assert [p for p, _ in both.value.problems] == ["web.asn"]


def test_outputs_match_the_api(run: Run, mocks: ByoipMocks) -> None:
    seen: dict[str, Any] = {}

    def program() -> pulumi.Output[Any]:
        web = ByoipPrefixWithBindings("web", v4_args())
        return pulumi.Output.all(
            web.bindings, web.default_binding_id, web.provisioning_states, web.routes
        ).apply(
            lambda values: seen.update(zip(("b", "d", "p", "r"), values, strict=True))
        )

    monitor = run(program)

    api = {b["cidr"]: b for b in mocks.emulator.list_bindings(ACCOUNT, PREFIX_V4)}
    assert seen["b"] == {cidr: b["id"] for cidr, b in api.items()}
    assert seen["d"] == api["198.51.100.0/24"]["id"]
    assert seen["p"] == dict.fromkeys(api, "provisioning")
    assert seen["r"] == [
        {"cidr": "198.51.100.0/29", "service": "cdn", "addresses": "8"},
        {"cidr": "198.51.100.8/29", "service": "spectrum", "addresses": "8"},
        {"cidr": "198.51.100.16/28", "service": "cdn", "addresses": "16"},
        {"cidr": "198.51.100.32/27", "service": "cdn", "addresses": "32"},
        {"cidr": "198.51.100.64/26", "service": "spectrum", "addresses": "64"},
        {"cidr": "198.51.100.128/25", "service": "spectrum", "addresses": "128"},
    ]
    registered = monitor.by_name("web").outputs
    assert registered["bindings"] == seen["b"]
    assert registered["default_binding_id"] == seen["d"]
    assert registered["routes"] == seen["r"]
    assert registered["prefix_id"] == PREFIX_V4


def test_existing_default_binding_is_adopted(run: Run, mocks: ByoipMocks) -> None:
    before = mocks.emulator.list_bindings(ACCOUNT, PREFIX_BOUND)
    args = ByoipPrefixWithBindingsArgs(
        account_id=ACCOUNT,
        prefix_id=PREFIX_BOUND,
        cidr="203.0.113.0/24",
        default_service="magic_transit",
        overrides=[{"cidr": "203.0.113.1/32", "service": "cdn"}],
    )
    monitor = run(lambda: ByoipPrefixWithBindings("edge", args))

    assert len(before) == 1
    assert monitor.by_name("edge-203.0.113.0_24").id == before[0]["id"]
    assert len(mocks.emulator.list_bindings(ACCOUNT, PREFIX_BOUND)) == 2


def test_managed_prefix_is_created_and_bound(run: Run, mocks: ByoipMocks) -> None:
    args = ByoipPrefixWithBindingsArgs(
        account_id=ACCOUNT,
        asn=64500,
        description="new prefix",
        cidr="192.0.2.0/24",
        default_service="magic_transit",
        overrides=[{"cidr": "192.0.2.16/29", "service": "spectrum"}],
    )
    monitor = run(lambda: ByoipPrefixWithBindings("lab", args))

    prefix = monitor.of_type(BYOIP_PREFIX_TYPE)
    assert len(prefix) == 1
    assert prefix[0].parent == monitor.by_name("lab").urn
    assert prefix[0].inputs["asn"] == 64500
    assert prefix[0].retain_on_delete
    prefix_id = prefix[0].id
    assert prefix_id is not None and len(prefix_id) == 32
    for binding in bindings_of(monitor.registrations):
        assert binding.inputs["prefix_id"] == prefix_id
        assert prefix[0].urn in binding.dependencies
    api = mocks.emulator.list_bindings(ACCOUNT, prefix_id)
    assert {(b["cidr"], b["service_name"]) for b in api} == {
        ("192.0.2.0/24", "Magic Transit"),
        ("192.0.2.16/29", "Spectrum"),
    }


def test_output_prefix_id_is_checked_once_known(
    run: Run, caplog: pytest.LogCaptureFixture
) -> None:
    def program() -> None:
        bad = pulumi.Output.from_input("not-a-prefix-id")
        ByoipPrefixWithBindings("web", v4_args(prefix_id=bad))

    # The component logs the problem by path; the API (here, the mocks) then
    # refuses the malformed id, which fails the registration.
    with pytest.raises(Exception) as raised:
        run(program)

    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert any(m.startswith("web.prefixId: 'not-a-prefix-id' is not") for m in errors)
    causes: list[BaseException] = []
    error: BaseException | None = raised.value
    while error is not None and error not in causes:
        causes.append(error)
        error = error.__cause__ or error.__context__
    refused = [c for c in causes if isinstance(c, MockedApiError)]
    assert refused and refused[0].code == 7003


def test_outputs_for_structure_are_refused(run: Run) -> None:
    def program() -> None:
        cidr: Any = pulumi.Output.from_input("198.51.100.0/24")
        ByoipPrefixWithBindings("web", v4_args(cidr=cidr))

    with pytest.raises(ByoipPrefixWithBindingsError, match="must be a plain value"):
        run(program)


def test_binding_names_do_not_depend_on_order_or_spelling() -> None:
    from cloudflare_byoip.component import binding_name

    assert binding_name("p", "203.0.113.16/29") == "p-203.0.113.16_29"
    names = {
        binding_name("p", str(net))
        for net in ipaddress.ip_network("2001:db8::/44").subnets(new_prefix=48)
    }
    assert len(names) == 16
