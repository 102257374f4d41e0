"""The stack program: one ``ByoipPrefixWithBindings`` per prefix of ``byoip:``.

The whole ``byoip:`` namespace is validated before any resource is registered;
problems are logged one per line and the program stops without a traceback.
"""

from __future__ import annotations

import pulumi
from pulumi.runtime import config as runtime_config

from cloudflare_byoip.component import (
    ByoipPrefixWithBindings,
    ByoipPrefixWithBindingsArgs,
)
from cloudflare_byoip.spec import NAMESPACE, SpecError, StackSpec, validate_stack


def byoip_config() -> dict[str, object]:
    """Every ``byoip:`` key of the stack, so a misspelt key is reported too."""
    values: dict[str, object] = {}
    for key, value in runtime_config.CONFIG.get().items():
        namespace, _, name = str(key).partition(":")
        if namespace == NAMESPACE:
            values[f"{NAMESPACE}:{name.removeprefix('config:')}"] = value
    return values


def load_spec() -> StackSpec:
    """The validated stack; on problems, log each and stop the program cleanly."""
    try:
        spec = validate_stack(byoip_config())
    except SpecError as error:
        for path, message in error.problems:
            pulumi.log.error(f"{path}: {message}")
        count = len(error.problems)
        raise pulumi.RunError(
            f"the byoip: configuration of stack {pulumi.get_stack()!r} has {count} "
            f"problem{'s' if count != 1 else ''} (listed above); fix them in "
            f"stacks/Pulumi.{pulumi.get_stack()}.yaml and run again"
        ) from None
    for path, message in spec.warnings:
        pulumi.log.warn(f"{path}: {message}")
    return spec


def main() -> None:
    """Declare every prefix's bindings and export its routes and binding ids."""
    spec = load_spec()
    for prefix in spec.prefixes:
        component = ByoipPrefixWithBindings(
            prefix.name, ByoipPrefixWithBindingsArgs.from_spec(prefix, spec)
        )
        pulumi.export(
            prefix.name,
            {
                "prefixId": component.prefix_id,
                "routes": component.routes,
                "bindings": component.bindings,
                "defaultBindingId": component.default_binding_id,
                "provisioningStates": component.provisioning_states,
            },
        )


main()
