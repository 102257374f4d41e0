"""Validation time for 1k, 10k and 100k overrides against parsing their CIDRs alone.

Run: .venv/bin/python bench/validate.py [--sizes 1000,10000,100000] [--repeat 3]

Each case is one prefix holding N overrides: IPv4 /32s inside a /8 (Cloudflare's
/24 floor is for onboarding; a large prefix is what makes 100k distinct /32s
possible) and IPv6 /128s inside a /32. The baseline is ``ipaddress.ip_network``
over the same strings, measured in the same run; the ratio is validation time
over baseline time (the issue asks for at most 3).
"""

from __future__ import annotations

import argparse
import ipaddress
import time
from collections.abc import Callable
from typing import Any

from cloudflare_byoip import validate_stack

ACCOUNT = "0123456789abcdef0123456789abcdef"


def ipv4_case(count: int) -> tuple[str, list[str]]:
    base = int(ipaddress.IPv4Address("10.0.0.0"))
    # Every other address, so that no two overrides aggregate into a /31.
    return "10.0.0.0/8", [
        str(ipaddress.IPv4Address(base + 2 * i + 1)) + "/32" for i in range(count)
    ]


def ipv6_case(count: int) -> tuple[str, list[str]]:
    base = int(ipaddress.IPv6Address("2001:db8::"))
    return "2001:db8::/32", [
        str(ipaddress.IPv6Address(base + 2 * i + 1)) + "/128" for i in range(count)
    ]


def config(prefix_cidr: str, cidrs: list[str]) -> dict[str, Any]:
    overrides = [
        {"cidr": cidr, "service": "cdn" if i % 2 else "spectrum"}
        for i, cidr in enumerate(cidrs)
    ]
    return {
        "byoip:accountId": ACCOUNT,
        "byoip:prefixes": [
            {
                "name": "big",
                "prefixId": "a" * 32,
                "cidr": prefix_cidr,
                "defaultService": "magic_transit",
                "overrides": overrides,
            }
        ],
    }


def best_of(repeat: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    print(
        f"{'case':<6} {'overrides':>9} {'parse s':>9} {'validate s':>11} {'ratio':>6}"
    )
    for label, make in (("ipv4", ipv4_case), ("ipv6", ipv6_case)):
        for size in (int(text) for text in args.sizes.split(",")):
            prefix_cidr, cidrs = make(size)
            stack = config(prefix_cidr, cidrs)
            parse = best_of(
                args.repeat, lambda c=cidrs: [ipaddress.ip_network(x) for x in c]
            )
            check = best_of(args.repeat, lambda s=stack: validate_stack(s))
            spec = validate_stack(stack)
            assert len(spec.prefixes[0].overrides) == size
            ratio = check / parse
            print(f"{label:<6} {size:>9} {parse:>9.3f} {check:>11.3f} {ratio:>6.2f}")


if __name__ == "__main__":
    main()
