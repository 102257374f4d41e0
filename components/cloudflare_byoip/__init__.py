"""Pulumi resources, validation and a local emulator for Cloudflare BYOIP bindings.

The configuration rules import eagerly and need neither Pulumi nor HTTP; the
Pulumi parts load on first use, so ``byoip validate`` stays quick.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from .component import ByoipPrefixWithBindings, ByoipPrefixWithBindingsArgs
    from .provider import ServiceBindingProvider
    from .resource import ServiceBinding, ServiceBindingArgs

_LAZY = {
    "ServiceBinding": ".resource",
    "ServiceBindingArgs": ".resource",
    "ServiceBindingProvider": ".provider",
    "ByoipPrefixWithBindings": ".component",
    "ByoipPrefixWithBindingsArgs": ".component",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ByoipPrefixWithBindings",
    "ByoipPrefixWithBindingsArgs",
    "OverrideSpec",
    "PrefixSpec",
    "Route",
    "Service",
    "ServiceBinding",
    "ServiceBindingArgs",
    "ServiceBindingProvider",
    "SpecError",
    "StackSpec",
    "routing_table",
    "validate_prefix",
    "validate_stack",
]
