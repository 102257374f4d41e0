"""``ServiceBinding``: one Cloudflare BYOIP service binding as a Pulumi resource."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.dynamic import Resource

from .provider import OUTPUT_KEYS, ServiceBindingProvider

TYPE_TOKEN = "pulumi-python:dynamic/byoip:ServiceBinding"
"""The type of every ServiceBinding in URNs and state."""


@dataclass
class ServiceBindingArgs:
    """The inputs of a ``ServiceBinding``."""

    account_id: pulumi.Input[str]
    """The Cloudflare account that owns the prefix (32 lowercase hex characters)."""
    prefix_id: pulumi.Input[str]
    """The onboarded prefix the binding belongs to."""
    cidr: pulumi.Input[str]
    """The addresses to route: the whole prefix, or a CIDR inside it."""
    service: pulumi.Input[str]
    """magic_transit, cdn or spectrum (other spellings are normalised)."""
    adopt_existing: pulumi.Input[bool] = True
    """Manage a binding that already exists with this CIDR and service."""
    wait_for_active: pulumi.Input[bool] = False
    """Wait until the new binding is ``active`` (hours on real Cloudflare)."""
    wait_timeout_seconds: pulumi.Input[int] = 900
    """How long to wait for ``active`` before warning and moving on."""
    allow_disruption: pulumi.Input[bool] = False
    """Allow a CIDR or service change, which deletes and recreates the binding."""


class ServiceBinding(Resource, module="byoip", name="ServiceBinding"):
    """A CIDR of a BYOIP prefix routed to Magic Transit, CDN or Spectrum.

    Its id is Cloudflare's binding id. A binding cannot change in place: a new
    account, prefix, CIDR or service deletes it and creates another, and a new
    CIDR or service is refused unless ``allow_disruption`` is true. ``pulumi
    import`` is not supported for dynamic resources; ``adopt_existing`` takes
    over an existing binding at create instead.
    """

    account_id: pulumi.Output[str]
    prefix_id: pulumi.Output[str]
    cidr: pulumi.Output[str]
    """The bound CIDR, in canonical form."""
    service: pulumi.Output[str]
    """magic_transit, cdn or spectrum."""
    adopt_existing: pulumi.Output[bool]
    wait_for_active: pulumi.Output[bool]
    wait_timeout_seconds: pulumi.Output[int]
    allow_disruption: pulumi.Output[bool]
    binding_id: pulumi.Output[str]
    """Cloudflare's id of the binding (also the resource id)."""
    service_id: pulumi.Output[str]
    """The account's id of the bound service."""
    service_name: pulumi.Output[str]
    """The service as Cloudflare names it: Magic Transit, CDN or Spectrum."""
    provisioning_state: pulumi.Output[str]
    """provisioning, active or magic_transit_route_missing, as last read."""

    def __init__(
        self,
        resource_name: str,
        args: ServiceBindingArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props: dict[str, Any] = {
            "account_id": args.account_id,
            "prefix_id": args.prefix_id,
            "cidr": args.cidr,
            "service": args.service,
            "adopt_existing": args.adopt_existing,
            "wait_for_active": args.wait_for_active,
            "wait_timeout_seconds": args.wait_timeout_seconds,
            "allow_disruption": args.allow_disruption,
        }
        props.update(dict.fromkeys(OUTPUT_KEYS))
        super().__init__(ServiceBindingProvider(), resource_name, props, opts)
