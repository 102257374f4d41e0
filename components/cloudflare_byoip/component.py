"""``ByoipPrefixWithBindings``: one BYOIP prefix, its default binding and overrides.

The component validates its plain arguments with the spec module before it
registers anything, so a wrong prefix fails ``pulumi preview`` with every
problem in one error and no traceback.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_cloudflare as cloudflare

from .resource import ServiceBinding, ServiceBindingArgs
from .spec import (
    OverrideSpec,
    PrefixSpec,
    Problem,
    Service,
    SpecError,
    StackSpec,
    check_id,
    routing_table,
    validate_prefix,
)

COMPONENT_TYPE = "cloudflare-byoip:index:ByoipPrefixWithBindings"
"""The component's type token, part of every child's URN."""

MAX_ASN = 2**32 - 1
"""The largest four-byte autonomous system number."""


class ByoipPrefixWithBindingsError(pulumi.RunError, SpecError):
    """Invalid component arguments; ``problems`` lists every one.

    A ``pulumi.RunError``, so the Pulumi CLI prints the message alone, without
    a Python traceback; a ``SpecError``, so callers can catch it as one.
    """

    def __init__(self, name: str, problems: Sequence[Problem]) -> None:
        SpecError.__init__(self, problems)
        count = len(self.problems)
        heading = (
            f"ByoipPrefixWithBindings {name!r} has {count} "
            f"problem{'s' if count != 1 else ''}; fix the arguments and run again:"
        )
        lines = [f"  {path}: {message}" for path, message in self.problems]
        self.args = ("\n".join([heading, *lines]),)


@dataclass(kw_only=True)
class ByoipPrefixWithBindingsArgs:
    """The arguments of ``ByoipPrefixWithBindings``.

    ``cidr``, ``default_service``, ``overrides`` and the flags must be plain
    values: the CIDRs name the child bindings, so they are needed before any
    resource is registered. ``account_id``, ``prefix_id``, ``asn``,
    ``loa_document_id`` and ``description`` may be Outputs; those are checked
    once their values are known.
    """

    account_id: pulumi.Input[str]
    """The Cloudflare account that owns the prefix (32 lowercase hex characters)."""
    cidr: str
    """The whole prefix: IPv4 /24 or shorter, IPv6 /48 or shorter."""
    default_service: Service | str
    """The service of the default binding: magic_transit, cdn or spectrum."""
    prefix_id: pulumi.Input[str] | None = None
    """The onboarded prefix's id; leave it out and give ``asn`` to create one."""
    overrides: Sequence[Mapping[str, Any] | OverrideSpec] = ()
    """More specific bindings, each with ``cidr`` and ``service``."""
    cdn_egress: bool = False
    """The prefix serves Dedicated CDN Egress IPs, so it takes no CDN binding."""
    adopt_existing: bool = True
    """Adopt a binding that already exists with the same CIDR and service."""
    retain_default_on_delete: bool = True
    """Leave the default binding at Cloudflare when the component is deleted."""
    wait_for_active: bool = False
    """Wait until each new binding is ``active`` (hours on real Cloudflare)."""
    allow_disruption: bool = False
    """Allow changes that delete and recreate a binding (4 to 6 hours' outage)."""
    protect_bindings: bool = False
    """Set ``protect`` on every binding, so Pulumi refuses to delete them."""
    asn: pulumi.Input[int] | None = None
    """With no ``prefix_id``: create the prefix, advertised under this ASN."""
    loa_document_id: pulumi.Input[str] | None = None
    """With ``asn``: the uploaded Letter of Authorization for the new prefix."""
    description: pulumi.Input[str] | None = None
    """With ``asn``: the new prefix's description."""

    @classmethod
    def from_spec(
        cls, prefix: PrefixSpec, stack: StackSpec
    ) -> ByoipPrefixWithBindingsArgs:
        """The arguments for one validated prefix, with the stack-wide flags."""
        return cls(
            account_id=stack.account_id,
            prefix_id=prefix.prefix_id,
            cidr=prefix.cidr,
            default_service=prefix.default_service,
            overrides=list(prefix.overrides),
            cdn_egress=prefix.cdn_egress,
            adopt_existing=stack.adopt_existing,
            retain_default_on_delete=stack.retain_default_on_delete,
            wait_for_active=stack.wait_for_active,
            allow_disruption=stack.allow_disruption,
            protect_bindings=stack.protect_bindings,
        )


def binding_name(component: str, cidr: str) -> str:
    """The child name of the binding on ``cidr``: stable, URN-safe, no ``::``.

    IPv4 keeps its dotted address (``edge-203.0.113.16_29``); IPv6 writes the
    groups the prefix length covers, joined by dashes (``edge-2001-db8-100-1_64``).
    The name depends on the CIDR alone, so reordering overrides changes nothing.
    """
    network = ipaddress.ip_network(cidr)
    if network.version == 4:
        address = str(network.network_address)
    else:
        groups = network.network_address.exploded.split(":")
        covered = max(1, -(-network.prefixlen // 16))
        address = "-".join(group.lstrip("0") or "0" for group in groups[:covered])
    return f"{component}-{address}_{network.prefixlen}"


class ByoipPrefixWithBindings(pulumi.ComponentResource):
    """A BYOIP prefix's service bindings: the default plus one per override.

    Children: a ``ServiceBinding`` for the default binding, one per override
    (each depending on the default, so it is created after it and deleted
    before it), and a ``pulumi_cloudflare.ByoIpPrefix`` when ``asn`` is given
    instead of ``prefix_id``. The default binding is ``retain_on_delete``
    unless ``retain_default_on_delete`` is false; a created prefix is retained
    with it. ``protect_bindings`` protects every binding.

    Known gaps: the child bindings' CIDRs and services must be plain values,
    since they name the children. Output arguments are checked only once
    known: a bad value is logged as an error on the component and then refused
    by the provider's Check (by Cloudflare, for a created prefix's ASN), so a
    preview with unknown values cannot report it.
    """

    routes: pulumi.Output[list[dict[str, str]]]
    """The routing table: ``cidr``, ``service`` and ``addresses`` per row.

    ``addresses`` is a decimal string: an IPv6 count is beyond the integers a
    Pulumi output (a JSON number) holds exactly.
    """
    bindings: pulumi.Output[dict[str, str]]
    """Binding id by CIDR, for the default binding and every override."""
    default_binding_id: pulumi.Output[str]
    """The id of the default binding."""
    provisioning_states: pulumi.Output[dict[str, str]]
    """Provisioning state by CIDR (``provisioning``, ``active``, ...)."""
    prefix_id: pulumi.Output[str]
    """The prefix's id, given or created."""

    def __init__(
        self,
        name: str,
        args: ByoipPrefixWithBindingsArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        spec = _validate(name, args)
        super().__init__(COMPONENT_TYPE, name, None, opts)

        account_id = _checked_id(self, name, "accountId", args.account_id, "account id")
        prefix_id = self._prefix(name, args, spec, account_id)
        self.prefix_id = pulumi.Output.from_input(prefix_id)

        self.default_binding = self._binding(
            name,
            args,
            account_id,
            prefix_id,
            spec.cidr,
            spec.default_service,
            pulumi.ResourceOptions(
                parent=self,
                protect=args.protect_bindings,
                retain_on_delete=args.retain_default_on_delete,
            ),
        )
        """The binding covering the whole prefix."""
        self.override_bindings: dict[str, ServiceBinding] = {}
        """The override bindings by CIDR."""
        for override in sorted(spec.overrides, key=lambda o: _sort_key(o.cidr)):
            self.override_bindings[override.cidr] = self._binding(
                name,
                args,
                account_id,
                prefix_id,
                override.cidr,
                override.service,
                pulumi.ResourceOptions(
                    parent=self,
                    depends_on=[self.default_binding],
                    protect=args.protect_bindings,
                ),
            )

        every = {spec.cidr: self.default_binding, **self.override_bindings}
        self.routes = pulumi.Output.from_input(
            [
                {
                    "cidr": r.cidr,
                    "service": r.service.value,
                    "addresses": str(r.addresses),
                }
                for r in routing_table(spec)
            ]
        )
        self.bindings = pulumi.Output.all(
            **{cidr: b.binding_id for cidr, b in every.items()}
        ).apply(dict)
        self.default_binding_id = self.default_binding.binding_id
        self.provisioning_states = pulumi.Output.all(
            **{cidr: b.provisioning_state for cidr, b in every.items()}
        ).apply(dict)
        self.register_outputs(
            {
                "routes": self.routes,
                "bindings": self.bindings,
                "default_binding_id": self.default_binding_id,
                "provisioning_states": self.provisioning_states,
                "prefix_id": self.prefix_id,
            }
        )

    def _prefix(
        self,
        name: str,
        args: ByoipPrefixWithBindingsArgs,
        spec: PrefixSpec,
        account_id: pulumi.Input[str],
    ) -> pulumi.Input[str]:
        """The given prefix id (checked once known), or a new prefix's id."""
        if args.prefix_id is not None:
            return _checked_id(self, name, "prefixId", args.prefix_id, "prefix id")

        asn = args.asn
        assert asn is not None, "_validate requires asn when prefix_id is absent"
        if isinstance(asn, pulumi.Output):
            asn = asn.apply(lambda known: _checked_asn(self, name, known))
        self.prefix = cloudflare.ByoIpPrefix(
            f"{name}-prefix",
            cloudflare.ByoIpPrefixArgs(
                account_id=account_id,
                asn=asn,
                cidr=spec.cidr,
                description=args.description,
                loa_document_id=args.loa_document_id,
            ),
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=args.protect_bindings,
                retain_on_delete=args.retain_default_on_delete,
            ),
        )
        """The prefix this component created (only when ``asn`` was given)."""
        return self.prefix.id

    @staticmethod
    def _binding(
        name: str,
        args: ByoipPrefixWithBindingsArgs,
        account_id: pulumi.Input[str],
        prefix_id: pulumi.Input[str],
        cidr: str,
        service: Service,
        opts: pulumi.ResourceOptions,
    ) -> ServiceBinding:
        return ServiceBinding(
            binding_name(name, cidr),
            ServiceBindingArgs(
                account_id=account_id,
                prefix_id=prefix_id,
                cidr=cidr,
                service=service.value,
                adopt_existing=args.adopt_existing,
                wait_for_active=args.wait_for_active,
                allow_disruption=args.allow_disruption,
            ),
            opts,
        )


def _validate(name: str, args: ByoipPrefixWithBindingsArgs) -> PrefixSpec:
    """Check every plain argument at once; raise with the whole problem list."""
    problems: list[Problem] = []
    data: dict[str, Any] = {"name": "prefix", "overrides": []}
    for key in ("cidr", "default_service", "cdn_egress"):
        value = getattr(args, key)
        if isinstance(value, pulumi.Output):
            problems.append(_must_be_plain(name, key, "it decides the bindings"))
        else:
            data[key] = value
    if isinstance(args.overrides, pulumi.Output):
        problems.append(
            _must_be_plain(name, "overrides", "the CIDRs name the bindings")
        )
    else:
        for i, override in enumerate(args.overrides):
            if isinstance(override, Mapping) and any(
                isinstance(value, pulumi.Output) for value in override.values()
            ):
                problems.append(
                    _must_be_plain(
                        name, f"overrides[{i}]", "its CIDR names the binding"
                    )
                )
            else:
                data["overrides"].append(override)

    if args.prefix_id is None and args.asn is None:
        problems.append(
            (
                f"{name}.prefixId",
                "is required unless asn is given; pass the onboarded prefix's "
                "id, or an asn so the component creates the prefix",
            )
        )
    elif args.prefix_id is not None and args.asn is not None:
        problems.append(
            (
                f"{name}.asn",
                "cannot be given with prefixId; pass prefixId to bind an "
                "onboarded prefix, or asn (without prefixId) to create one",
            )
        )
    elif args.asn is not None and not isinstance(args.asn, pulumi.Output):
        problems.extend(_asn_problems(name, args.asn))
    if args.prefix_id is not None and not isinstance(args.prefix_id, pulumi.Output):
        data["prefix_id"] = args.prefix_id
    if not isinstance(args.account_id, pulumi.Output):
        problems.extend(_id_problems(name, "accountId", args.account_id, "account id"))

    try:
        spec = validate_prefix(data, path=name)
    except SpecError as error:
        problems.extend(p for p in error.problems if p not in problems)
    if problems:
        raise ByoipPrefixWithBindingsError(name, problems)
    for path, message in spec.warnings:
        pulumi.log.warn(f"{path}: {message}")
    return spec


def _must_be_plain(name: str, key: str, why: str) -> Problem:
    return (
        f"{name}.{key}",
        f"is an Output, but it must be a plain value because {why}; pass the "
        "value itself",
    )


def _id_problems(name: str, key: str, value: object, what: str) -> list[Problem]:
    if not isinstance(value, str):
        return [(f"{name}.{key}", f"{value!r} is not a {what}; pass it as a string")]
    try:
        check_id(value, what)
    except ValueError as error:
        return [(f"{name}.{key}", str(error))]
    return []


def _asn_problems(name: str, value: object) -> list[Problem]:
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not (0 < value <= MAX_ASN)
    ):
        return [
            (
                f"{name}.asn",
                f"{value!r} is not an autonomous system number; pass the ASN "
                f"the prefix is advertised under, a whole number from 1 to {MAX_ASN}",
            )
        ]
    return []


def _checked_id(
    component: pulumi.Resource,
    name: str,
    key: str,
    value: pulumi.Input[str],
    what: str,
) -> pulumi.Input[str]:
    """A plain id as it is (already checked); an Output checked once known.

    A bad known value is logged as an error on the component and passed on
    unchanged, so the provider's Check refuses it by property name; raising
    here instead would fail every binding with a chain of wrapped errors.
    """
    if not isinstance(value, pulumi.Output):
        return value

    def check(known: str) -> str:
        for path, message in _id_problems(name, key, known, what):
            pulumi.log.error(f"{path}: {message}", resource=component)
        return known

    return value.apply(check)


def _checked_asn(component: pulumi.Resource, name: str, value: int) -> int:
    """An Output ASN once known: a bad one is logged and passed on unchanged."""
    for path, message in _asn_problems(name, value):
        pulumi.log.error(f"{path}: {message}", resource=component)
    return value


def _sort_key(cidr: str) -> tuple[int, int, int]:
    network = ipaddress.ip_network(cidr)
    return network.version, int(network.network_address), network.prefixlen
