"""Every offline rule of the byoip: configuration, one test or more each."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from cloudflare_byoip import (
    OverrideSpec,
    Service,
    SpecError,
    validate_prefix,
    validate_stack,
)

ACCOUNT = "0123456789abcdef0123456789abcdef"
PREFIX_ID = "3f1c0a5e9b2d4c6f8a1e3b5d7f9c0a2e"


def prefix(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "edge-v4",
        "prefixId": PREFIX_ID,
        "cidr": "203.0.113.0/24",
        "defaultService": "magic_transit",
        "overrides": [
            {"cidr": "203.0.113.1/32", "service": "cdn"},
            {"cidr": "203.0.113.16/29", "service": "spectrum"},
        ],
    }
    base.update(changes)
    return base


def stack(*prefixes: dict[str, Any], **changes: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "byoip:accountId": ACCOUNT,
        "byoip:prefixes": list(prefixes) or [prefix()],
    }
    config.update(changes)
    return config


def problems(config: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(SpecError) as caught:
        validate_stack(config)
    return caught.value.problems


def only_problem(config: dict[str, Any]) -> tuple[str, str]:
    found = problems(config)
    assert len(found) == 1, found
    return found[0]


def test_the_issue_example_is_valid_and_typed() -> None:
    spec = validate_stack(stack())
    assert spec.account_id == ACCOUNT
    [edge] = spec.prefixes
    assert edge.default_service is Service.MAGIC_TRANSIT
    assert [(o.cidr, o.service) for o in edge.overrides] == [
        ("203.0.113.1/32", Service.CDN),
        ("203.0.113.16/29", Service.SPECTRUM),
    ]
    assert spec.warnings == []


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("magic_transit", Service.MAGIC_TRANSIT),
        ("magic-transit", Service.MAGIC_TRANSIT),
        ("Magic Transit", Service.MAGIC_TRANSIT),
        ("MAGIC_TRANSIT", Service.MAGIC_TRANSIT),
        ("cdn", Service.CDN),
        ("CDN", Service.CDN),
        ("Spectrum", Service.SPECTRUM),
    ],
)
def test_service_spellings_are_normalised(written: str, expected: Service) -> None:
    spec = validate_stack(stack(prefix(defaultService=written, overrides=[])))
    assert spec.prefixes[0].default_service is expected
    assert Service.parse(written) is expected


def test_display_names_are_cloudflares() -> None:
    names = [service.display_name for service in Service]
    assert names == ["Magic Transit", "CDN", "Spectrum"]


def test_unknown_service_names_the_path_and_the_choices() -> None:
    path, message = only_problem(stack(prefix(defaultService="waf")))
    assert path == "byoip:prefixes[0].defaultService"
    assert "'waf'" in message
    assert "magic_transit, cdn or spectrum" in message


def test_host_bits_set_suggests_the_network() -> None:
    path, message = only_problem(stack(prefix(cidr="203.0.113.7/24", overrides=[])))
    assert path == "byoip:prefixes[0].cidr"
    assert "host bits" in message
    assert "203.0.113.0/24" in message


@pytest.mark.parametrize(
    ("cidr", "phrase"),
    [
        ("203.0.113.300/24", "not an IPv4 address"),
        ("203.0.113.0", "no prefix length"),
        ("203.0.113.0/33", "not an IPv4 prefix length"),
        ("2001:db8:::/48", "not an IPv6 address"),
        ("2001:db8::/129", "not an IPv6 prefix length"),
        ("203.0.113.0/x", "not an IPv4 prefix length"),
    ],
)
def test_malformed_prefix_cidrs(cidr: str, phrase: str) -> None:
    path, message = only_problem(stack(prefix(cidr=cidr, overrides=[])))
    assert path == "byoip:prefixes[0].cidr"
    assert phrase in message


@pytest.mark.parametrize(
    ("cidr", "valid"),
    [
        ("203.0.112.0/23", True),
        ("203.0.113.0/24", True),
        ("203.0.113.0/25", False),
        ("2001:db8:100::/48", True),
        ("2001:db8::/32", True),
        ("2001:db8:100::/49", False),
    ],
)
def test_smallest_prefix_is_v4_24_and_v6_48(cidr: str, valid: bool) -> None:
    config = stack(prefix(cidr=cidr, overrides=[]))
    if valid:
        assert validate_stack(config).prefixes[0].cidr == cidr
    else:
        path, message = only_problem(config)
        assert path == "byoip:prefixes[0].cidr"
        assert "smallest" in message


@pytest.mark.parametrize(
    "cidr",
    ["198.51.100.0/32", "203.0.113.0/24", "203.0.112.0/23", "2001:db8::1/128"],
)
def test_override_must_be_strictly_inside_its_prefix(cidr: str) -> None:
    config = stack(prefix(overrides=[{"cidr": cidr, "service": "cdn"}]))
    path, message = only_problem(config)
    assert path == "byoip:prefixes[0].overrides[0].cidr"
    assert "strictly inside the prefix 203.0.113.0/24" in message


def test_override_cidr_is_checked_for_host_bits() -> None:
    config = stack(prefix(overrides=[{"cidr": "203.0.113.17/29", "service": "cdn"}]))
    path, message = only_problem(config)
    assert path == "byoip:prefixes[0].overrides[0].cidr"
    assert "203.0.113.16/29" in message


def test_magic_transit_is_never_an_override() -> None:
    config = stack(prefix(overrides=[{"cidr": "203.0.113.8/29", "service": "mt"}]))
    assert only_problem(config)[0] == "byoip:prefixes[0].overrides[0].service"

    config = stack(
        prefix(
            defaultService="cdn",
            overrides=[{"cidr": "203.0.113.8/29", "service": "Magic Transit"}],
        )
    )
    path, message = only_problem(config)
    assert path == "byoip:prefixes[0].overrides[0].service"
    assert message == (
        "Magic Transit can only be a prefix's default binding; "
        "bind 203.0.113.8/29 to cdn or spectrum instead"
    )


@pytest.mark.parametrize(
    ("default", "override", "valid"),
    [
        ("magic_transit", "cdn", True),
        ("magic_transit", "spectrum", True),
        ("cdn", "spectrum", True),
        ("cdn", "cdn", False),
        ("spectrum", "cdn", True),
        ("spectrum", "spectrum", False),
    ],
)
def test_override_never_repeats_the_default(
    default: str, override: str, valid: bool
) -> None:
    config = stack(
        prefix(
            defaultService=default,
            overrides=[{"cidr": "203.0.113.8/29", "service": override}],
        )
    )
    if valid:
        validate_stack(config)
        return
    path, message = only_problem(config)
    assert path == "byoip:prefixes[0].overrides[0].service"
    assert "repeats the default service" in message
    assert "remove this override" in message


def test_duplicate_overrides_name_both() -> None:
    overrides = [
        {"cidr": "203.0.113.8/29", "service": "cdn"},
        {"cidr": "203.0.113.8/29", "service": "spectrum"},
    ]
    path, message = only_problem(stack(prefix(overrides=overrides)))
    assert path == "byoip:prefixes[0].overrides[1].cidr"
    assert "repeats overrides[0] (203.0.113.8/29)" in message


def test_nested_overrides_name_both() -> None:
    overrides = [
        {"cidr": "203.0.113.9/32", "service": "spectrum"},
        {"cidr": "203.0.113.0/28", "service": "cdn"},
        {"cidr": "203.0.113.14/31", "service": "spectrum"},
        {"cidr": "203.0.113.16/28", "service": "spectrum"},
    ]
    found = problems(stack(prefix(overrides=overrides)))
    assert found == [
        (
            "byoip:prefixes[0].overrides[0].cidr",
            "203.0.113.9/32 lies inside overrides[1] (203.0.113.0/28); an address "
            "is bound to one service only, so remove one of them or split the "
            "larger around the smaller",
        ),
        (
            "byoip:prefixes[0].overrides[2].cidr",
            "203.0.113.14/31 lies inside overrides[1] (203.0.113.0/28); an address "
            "is bound to one service only, so remove one of them or split the "
            "larger around the smaller",
        ),
    ]


def test_adjacent_overrides_do_not_overlap() -> None:
    overrides = [
        {"cidr": "203.0.113.0/25", "service": "cdn"},
        {"cidr": "203.0.113.128/26", "service": "spectrum"},
    ]
    validate_stack(stack(prefix(overrides=overrides)))


def test_cdn_egress_forbids_cdn_default_and_cdn_overrides() -> None:
    config = stack(prefix(cdnEgress=True, defaultService="cdn", overrides=[]))
    path, message = only_problem(config)
    assert path == "byoip:prefixes[0].defaultService"
    assert "cdnEgress" in message

    found = problems(stack(prefix(cdnEgress=True)))
    assert [path for path, _ in found] == ["byoip:prefixes[0].overrides[0].service"]
    assert "bind 203.0.113.1/32 to spectrum" in found[0][1]

    egress = prefix(
        cdnEgress=True, overrides=[{"cidr": "203.0.113.16/29", "service": "spectrum"}]
    )
    assert validate_stack(stack(egress)).prefixes[0].cdn_egress is True


def test_prefix_names_ids_and_cidrs_are_unique_in_a_stack() -> None:
    second = prefix(cidr="198.51.100.0/24", overrides=[])
    found = problems(stack(prefix(), second))
    assert [path for path, _ in found] == [
        "byoip:prefixes[1].name",
        "byoip:prefixes[1].prefixId",
    ]
    assert "'edge-v4' is already the name of prefixes[0]" in found[0][1]


def test_overlapping_prefixes_are_refused_even_when_not_adjacent() -> None:
    wide = prefix(name="wide", cidr="203.0.112.0/22", overrides=[], prefixId="a" * 32)
    first = prefix(name="a", cidr="203.0.112.0/24", overrides=[], prefixId="b" * 32)
    second = prefix(name="b", cidr="203.0.114.0/24", overrides=[], prefixId="c" * 32)
    found = problems(stack(wide, first, second))
    assert [path for path, _ in found] == [
        "byoip:prefixes[1].cidr",
        "byoip:prefixes[2].cidr",
    ]
    assert all("overlaps prefixes[0] (203.0.112.0/22)" in m for _, m in found)


def test_ipv4_and_ipv6_prefixes_live_side_by_side() -> None:
    v6 = prefix(
        name="edge-v6",
        prefixId="b" * 32,
        cidr="2001:DB8:100::/48",
        overrides=[{"cidr": "2001:db8:100:1::/64", "service": "cdn"}],
    )
    spec = validate_stack(stack(prefix(), v6))
    assert spec.prefixes[1].cidr == "2001:db8:100::/48"


def test_override_of_the_other_family_is_refused() -> None:
    v6 = prefix(
        cidr="2001:db8:100::/48",
        overrides=[{"cidr": "203.0.113.0/32", "service": "cdn"}],
    )
    path, message = only_problem(stack(v6))
    assert path == "byoip:prefixes[0].overrides[0].cidr"
    assert "not strictly inside the prefix 2001:db8:100::/48" in message


@pytest.mark.parametrize(
    ("value", "phrase"),
    [
        ("0123456789ABCDEF0123456789ABCDEF", "write it as 0123456789abcdef"),
        ("0123456789abcdef", "32 lowercase hexadecimal characters"),
        ("0123456789abcdef0123456789abcdeg", "32 lowercase hexadecimal characters"),
    ],
)
def test_ids_are_32_lowercase_hex(value: str, phrase: str) -> None:
    path, message = only_problem(stack(**{"byoip:accountId": value}))
    assert path == "byoip:accountId"
    assert phrase in message

    path, message = only_problem(stack(prefix(prefixId=value)))
    assert path == "byoip:prefixes[0].prefixId"
    assert phrase in message


@pytest.mark.parametrize(
    ("config", "path", "suggestion"),
    [
        (stack(**{"byoip:prefixs": []}), "byoip:prefixs", "'prefixes'"),
        (stack(prefix(defaultservice="cdn")), "byoip:prefixes[0]", "defaultService"),
        (
            stack(prefix(overrides=[{"cidr": "203.0.113.1/32", "servce": "cdn"}])),
            "byoip:prefixes[0].overrides[0]",
            "'service'",
        ),
    ],
)
def test_unknown_keys_are_errors_with_a_suggestion(
    config: dict[str, Any], path: str, suggestion: str
) -> None:
    found = problems(config)
    unknown = [(p, m) for p, m in found if "is not a known key" in m]
    assert len(unknown) == 1, found
    assert unknown[0][0].startswith(path)
    assert suggestion in unknown[0][1]


def test_missing_required_keys_are_named() -> None:
    config = {"byoip:prefixes": [{"name": "x", "overrides": [{"cidr": "1.2.3.0/32"}]}]}
    paths = [path for path, _ in problems(config)]
    assert paths == [
        "byoip:accountId",
        "byoip:prefixes[0].cidr",
        "byoip:prefixes[0].defaultService",
        "byoip:prefixes[0].overrides[0].service",
        "byoip:prefixes[0].prefixId",
    ]


def test_wrong_types_are_reported_not_raised() -> None:
    config = stack(prefix(cidr=24, overrides="cdn", cdnEgress="perhaps"))
    paths = {path for path, _ in problems(config)}
    assert paths == {
        "byoip:prefixes[0].cidr",
        "byoip:prefixes[0].overrides",
        "byoip:prefixes[0].cdnEgress",
    }


def test_every_problem_is_reported_together_in_file_order() -> None:
    bad = prefix(
        cidr="203.0.113.0/24",
        defaultService="cdn",
        overrides=[
            {"cidr": "203.0.113.1/32", "service": "magic_transit"},
            {"cidr": "203.0.113.0/30", "service": "spectrum"},
            {"cidr": "10.0.0.0/8", "service": "spectrum"},
        ],
    )
    config = stack(bad, **{"byoip:accountId": "nope"})
    with pytest.raises(SpecError) as caught:
        validate_stack(config)
    error = caught.value
    assert isinstance(error, ValueError)
    assert [path for path, _ in error.problems] == [
        "byoip:accountId",
        "byoip:prefixes[0].overrides[0].cidr",
        "byoip:prefixes[0].overrides[0].service",
        "byoip:prefixes[0].overrides[2].cidr",
    ]
    assert str(error).splitlines()[0].startswith("byoip:accountId: 'nope'")


def test_keys_with_or_without_namespace_and_other_namespaces_ignored() -> None:
    bare = {"accountId": ACCOUNT, "prefixes": [prefix()]}
    assert validate_stack(bare).prefixes[0].name == "edge-v4"

    mixed = stack(**{"cloudflare:apiToken": {"secure": "x"}, "aws:region": "x"})
    assert validate_stack(mixed).account_id == ACCOUNT


def test_prefixes_as_json_text_as_pulumi_configure_sends_them() -> None:
    config = {"byoip:accountId": ACCOUNT, "byoip:prefixes": json.dumps([prefix()])}
    assert validate_stack(config).prefixes[0].cidr == "203.0.113.0/24"


def test_stack_wide_flags_have_safe_defaults_and_bounds() -> None:
    spec = validate_stack(stack())
    assert spec.max_retries == 3
    assert spec.adopt_existing and spec.retain_default_on_delete
    assert not (spec.wait_for_active or spec.allow_disruption or spec.protect_bindings)

    spec = validate_stack(
        stack(**{"byoip:protectBindings": True, "byoip:maxRetries": 0})
    )
    assert spec.protect_bindings and spec.max_retries == 0

    path, _ = only_problem(stack(**{"byoip:maxRetries": 50}))
    assert path == "byoip:maxRetries"


def test_the_input_is_not_modified() -> None:
    config = stack()
    before = copy.deepcopy(config)
    validate_stack(config)
    assert config == before


class TestAggregationWarning:
    def warnings(self, overrides: list[dict[str, str]]) -> list[tuple[str, str]]:
        return validate_stack(stack(prefix(overrides=overrides))).warnings

    def test_tutorial_example_eight_addresses_make_a_29(self) -> None:
        overrides = [
            {"cidr": f"203.0.113.{host}/32", "service": "cdn"} for host in range(16, 24)
        ]
        [(path, message)] = self.warnings(overrides)
        assert path == "byoip:prefixes[0].overrides"
        assert "can be one binding, 203.0.113.16/29" in message
        assert "overrides[0], overrides[1], overrides[2] and 5 more" in message
        assert "8 cdn overrides" in message

    def test_adjacent_but_unalignable_overrides_are_fine(self) -> None:
        overrides = [
            {"cidr": "203.0.113.1/32", "service": "cdn"},
            {"cidr": "203.0.113.2/32", "service": "cdn"},
        ]
        assert self.warnings(overrides) == []

    def test_different_services_never_aggregate(self) -> None:
        overrides = [
            {"cidr": "203.0.113.2/32", "service": "cdn"},
            {"cidr": "203.0.113.3/32", "service": "spectrum"},
        ]
        assert self.warnings(overrides) == []

    def test_partial_runs_name_each_aggregate(self) -> None:
        overrides = [
            {"cidr": f"203.0.113.{host}/32", "service": "spectrum"}
            for host in (5, 6, 7, 8, 9)
        ]
        found = self.warnings(overrides)
        assert [m.split("; ")[0].rsplit(" ", 1)[-1] for _, m in found] == [
            "203.0.113.6/31",
            "203.0.113.8/31",
        ]

    def test_ipv6(self) -> None:
        v6 = prefix(
            cidr="2001:db8:100::/48",
            overrides=[
                {"cidr": "2001:db8:100:2::/64", "service": "cdn"},
                {"cidr": "2001:db8:100:3::/64", "service": "cdn"},
            ],
        )
        [(_, message)] = validate_stack(stack(v6)).warnings
        assert "2001:db8:100:2::/63" in message


class TestValidatePrefix:
    def test_snake_case_keys_and_override_specs(self) -> None:
        spec = validate_prefix(
            {
                "name": "edge",
                "prefix_id": None,
                "cidr": "203.0.113.0/24",
                "default_service": "Spectrum",
                "overrides": [OverrideSpec(cidr="203.0.113.0/25", service=Service.CDN)],
            }
        )
        assert spec.prefix_id is None
        assert spec.default_service is Service.SPECTRUM
        assert spec.overrides[0].service is Service.CDN

    def test_problems_are_named_under_the_given_path(self) -> None:
        with pytest.raises(SpecError) as caught:
            validate_prefix(
                {
                    "name": "edge",
                    "cidr": "203.0.113.0/24",
                    "default_service": "cdn",
                    "overrides": [{"cidr": "203.0.113.0/25", "service": "cdn"}],
                },
                path="edge",
            )
        assert [path for path, _ in caught.value.problems] == [
            "edge.overrides[0].service"
        ]
