"""CIDR arithmetic on integers: parsing, containment and range-to-CIDR splitting.

The standard library's ``ipaddress`` objects are exact but slow on large inputs;
a network here is a plain ``(version, start, prefixlen)`` triple, which makes
validating 100,000 overrides a matter of integer comparisons.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass

_FAMILY = {4: socket.AF_INET, 6: socket.AF_INET6}
_BITS = {4: 32, 6: 128}


class CidrError(ValueError):
    """A string that is not a CIDR network; the message says what to write."""


@dataclass(frozen=True, slots=True, order=True)
class Net:
    """One CIDR network as integers."""

    version: int
    """4 or 6."""
    start: int
    """The first address of the network, as an integer."""
    prefixlen: int
    """The number of leading bits fixed by the network."""

    @property
    def bits(self) -> int:
        return _BITS[self.version]

    @property
    def size(self) -> int:
        """The number of addresses in the network."""
        return 1 << (self.bits - self.prefixlen)

    @property
    def end(self) -> int:
        """The last address of the network, as an integer."""
        return self.start + self.size - 1

    def contains(self, other: Net) -> bool:
        """Whether ``other`` lies inside this network (equal counts as inside)."""
        return (
            self.version == other.version
            and self.prefixlen <= other.prefixlen
            and self.start <= other.start
            and other.end <= self.end
        )

    def overlaps(self, other: Net) -> bool:
        return (
            self.version == other.version
            and self.start <= other.end
            and other.start <= self.end
        )

    def __str__(self) -> str:
        return f"{format_address(self.version, self.start)}/{self.prefixlen}"


def format_address(version: int, value: int) -> str:
    packed = value.to_bytes(_BITS[version] // 8, "big")
    return socket.inet_ntop(_FAMILY[version], packed)


def parse_cidr(text: str) -> Net:
    """Parse ``address/length`` with host bits clear, or raise ``CidrError``."""
    address, slash, length_text = text.strip().partition("/")
    version = 6 if ":" in address else 4
    try:
        packed = socket.inet_pton(_FAMILY[version], address)
    except (OSError, ValueError):
        raise CidrError(
            f"{address!r} is not an IPv{version} address; write a CIDR such as "
            + ("203.0.113.0/24" if version == 4 else "2001:db8::/48")
        ) from None
    bits = _BITS[version]
    if not slash:
        raise CidrError(
            f"{text!r} has no prefix length; write {address}/{bits} for a single "
            "address, or the network's CIDR"
        )
    if not length_text.isdigit() or not 0 <= int(length_text) <= bits:
        raise CidrError(
            f"{length_text!r} is not an IPv{version} prefix length; "
            f"use a number from 0 to {bits}"
        )
    prefixlen = int(length_text)
    value = int.from_bytes(packed, "big")
    host_mask = (1 << (bits - prefixlen)) - 1
    if value & host_mask:
        network = Net(version, value & ~host_mask, prefixlen)
        raise CidrError(
            f"{text!r} has host bits set; a CIDR names a network, "
            f"so write {network} (or {address}/{bits} for the single address)"
        )
    return Net(version, value, prefixlen)


def range_to_nets(version: int, start: int, end: int) -> Iterator[Net]:
    """The fewest CIDR networks that cover ``start..end`` exactly, in order."""
    bits = _BITS[version]
    while start <= end:
        # The largest block aligned at ``start`` that does not pass ``end``.
        size = start & -start if start else 1 << bits
        while size > end - start + 1:
            size >>= 1
        yield Net(version, start, bits - size.bit_length() + 1)
        start += size
