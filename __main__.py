"""The stack program: one ``ByoipPrefixWithBindings`` per prefix of ``byoip:``.

The whole ``byoip:`` namespace is validated before any resource is registered;
problems are logged one per line and the program stops without a traceback.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pulumi
from pulumi.runtime import config as runtime_config

from cloudflare_byoip.component import (
    ByoipPrefixWithBindings,
    ByoipPrefixWithBindingsArgs,
)
from cloudflare_byoip.spec import (
    NAMESPACE,
    Problem,
    SpecError,
    StackSpec,
    validate_stack,
)
from cloudflare_byoip.stackfile import StackFile, UnreadableFile

STACK_CONFIG_DIR = "stacks"
"""Where Pulumi.yaml's ``stackConfigDir`` keeps the ``Pulumi.<stack>.yaml`` files."""


def byoip_config() -> dict[str, object]:
    """Every ``byoip:`` key of the stack, so a misspelt key is reported too."""
    values: dict[str, object] = {}
    for key, value in runtime_config.CONFIG.get().items():
        namespace, _, name = str(key).partition(":")
        if namespace == NAMESPACE:
            values[f"{NAMESPACE}:{name.removeprefix('config:')}"] = value
    return values


def stack_file() -> StackFile | None:
    """This stack's config file, to point each problem at its line, if readable."""
    relative = Path(STACK_CONFIG_DIR) / f"Pulumi.{pulumi.get_stack()}.yaml"
    try:
        loaded = StackFile.load(Path(__file__).resolve().parent / relative)
    except UnreadableFile:
        return None
    return dataclasses.replace(loaded, path=relative)


def describe(problem: Problem, where: StackFile | None, kind: str = "") -> str:
    """``stacks/Pulumi.dev.yaml:14: byoip:prefixes[0].cidr: ...`` or without a line."""
    if where is not None:
        return where.format(problem, kind)
    label = f"{kind}: " if kind else ""
    return f"{label}{problem[0]}: {problem[1]}"


def load_spec() -> StackSpec:
    """The validated stack; on problems, log each and stop the program cleanly."""
    try:
        spec = validate_stack(byoip_config())
    except SpecError as error:
        where = stack_file()
        for problem in error.problems:
            pulumi.log.error(describe(problem, where))
        count = len(error.problems)
        raise pulumi.RunError(
            f"the byoip: configuration of stack {pulumi.get_stack()!r} has {count} "
            f"problem{'s' if count != 1 else ''} (listed above); fix them in "
            f"{STACK_CONFIG_DIR}/Pulumi.{pulumi.get_stack()}.yaml and run again"
        ) from None
    where = stack_file() if spec.warnings else None
    for problem in spec.warnings:
        pulumi.log.warn(describe(problem, where, "warning"))
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
