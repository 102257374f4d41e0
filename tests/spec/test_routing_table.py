"""The routing table: most specific binding wins, sorted, gap-free, minimal."""

from __future__ import annotations

import ipaddress
import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from cloudflare_byoip import PrefixSpec, Route, Service, routing_table, validate_prefix


def make(cidr: str, default: str, overrides: list[tuple[str, str]]) -> PrefixSpec:
    return validate_prefix(
        {
            "name": "p",
            "cidr": cidr,
            "default_service": default,
            "overrides": [{"cidr": c, "service": s} for c, s in overrides],
        }
    )


def test_no_overrides_is_one_row() -> None:
    assert routing_table(make("203.0.113.0/24", "cdn", [])) == [
        Route(cidr="203.0.113.0/24", service=Service.CDN, addresses=256)
    ]


def test_the_issue_example() -> None:
    table = routing_table(
        make(
            "203.0.113.0/24",
            "magic_transit",
            [("203.0.113.16/29", "spectrum"), ("203.0.113.1/32", "cdn")],
        )
    )
    assert [(r.cidr, r.service.value, r.addresses) for r in table] == [
        ("203.0.113.0/32", "magic_transit", 1),
        ("203.0.113.1/32", "cdn", 1),
        ("203.0.113.2/31", "magic_transit", 2),
        ("203.0.113.4/30", "magic_transit", 4),
        ("203.0.113.8/29", "magic_transit", 8),
        ("203.0.113.16/29", "spectrum", 8),
        ("203.0.113.24/29", "magic_transit", 8),
        ("203.0.113.32/27", "magic_transit", 32),
        ("203.0.113.64/26", "magic_transit", 64),
        ("203.0.113.128/25", "magic_transit", 128),
    ]


def test_adjacent_overrides_of_one_service_collapse() -> None:
    table = routing_table(
        make(
            "198.51.100.0/24",
            "spectrum",
            [("198.51.100.0/25", "cdn"), ("198.51.100.128/25", "cdn")],
        )
    )
    assert table == [Route(cidr="198.51.100.0/24", service=Service.CDN, addresses=256)]


def test_ipv6() -> None:
    table = routing_table(
        make("2001:db8:100::/48", "magic_transit", [("2001:db8:100::/49", "cdn")])
    )
    assert [(r.cidr, r.service) for r in table] == [
        ("2001:db8:100::/49", Service.CDN),
        ("2001:db8:100:8000::/49", Service.MAGIC_TRANSIT),
    ]
    assert sum(r.addresses for r in table) == 2**80


@st.composite
def prefixes_with_overrides(draw: st.DrawFn) -> PrefixSpec:
    """A /24 with random non-overlapping overrides of allowed services."""
    default = draw(st.sampled_from(list(Service)))
    allowed = {
        Service.MAGIC_TRANSIT: [Service.CDN, Service.SPECTRUM],
        Service.CDN: [Service.SPECTRUM],
        Service.SPECTRUM: [Service.CDN],
    }[default]
    taken: list[ipaddress.IPv4Network] = []
    overrides: list[tuple[str, str]] = []
    for _ in range(draw(st.integers(0, 12))):
        length = draw(st.integers(25, 32))
        start = draw(st.integers(0, 255)) >> (32 - length) << (32 - length)
        net = ipaddress.ip_network(f"203.0.113.{start}/{length}")
        if any(net.overlaps(other) for other in taken):
            continue
        taken.append(net)
        overrides.append((str(net), draw(st.sampled_from(allowed)).value))
    return make("203.0.113.0/24", default.value, overrides)


@settings(max_examples=200, deadline=None)
@given(prefixes_with_overrides())
def test_every_address_gets_its_most_specific_binding(prefix: PrefixSpec) -> None:
    table = routing_table(prefix)
    nets = [ipaddress.ip_network(route.cidr) for route in table]

    assert nets == sorted(nets)
    for before, after in itertools.pairwise(nets):
        assert int(before.broadcast_address) + 1 == int(after.network_address)
    assert nets[0].network_address == ipaddress.ip_address("203.0.113.0")
    assert nets[-1].broadcast_address == ipaddress.ip_address("203.0.113.255")

    bindings = [(ipaddress.ip_network(o.cidr), o.service) for o in prefix.overrides]
    for net, route in zip(nets, table, strict=True):
        for address in (net.network_address, net.broadcast_address):
            expected = next(
                (service for cidr, service in bindings if address in cidr),
                prefix.default_service,
            )
            assert route.service is expected
        assert route.addresses == net.num_addresses


@settings(max_examples=200, deadline=None)
@given(prefixes_with_overrides())
def test_the_table_is_minimal(prefix: PrefixSpec) -> None:
    """As few rows as ipaddress.collapse_addresses needs for each service."""
    table = routing_table(prefix)
    fewest = 0
    for service in Service:
        rows = [ipaddress.ip_network(r.cidr) for r in table if r.service is service]
        fewest += len(list(ipaddress.collapse_addresses(rows)))
    assert len(table) == fewest
