"""Pulumi resources, validation and a local emulator for Cloudflare BYOIP bindings."""

from .spec import (
    OverrideSpec,
    PrefixSpec,
    Route,
    Service,
    SpecError,
    StackSpec,
    routing_table,
    validate_prefix,
    validate_stack,
)

__all__ = [
    "OverrideSpec",
    "PrefixSpec",
    "Route",
    "Service",
    "SpecError",
    "StackSpec",
    "routing_table",
    "validate_prefix",
    "validate_stack",
]
