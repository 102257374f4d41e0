"""The deploy replay: the stack program under mocks, its bindings through the provider.

``record_program`` runs a Pulumi program (``__main__.py``) under mocks and
records every registration. ``replay_up`` hands each recorded ``ServiceBinding``
to the real provider process over gRPC, Check then Create, in dependency order,
as the engine would on a first ``pulumi up``; ``replay_destroy`` deletes in
reverse order and leaves ``retain_on_delete`` bindings in place. It is what the
main job falls back to where the Pulumi CLI is missing.
"""

from __future__ import annotations

import json
import runpy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml

from .mocks import SERVICE_BINDING_TYPE, RecordingMonitor, Registration, pulumi_mocks
from .provider_process import ProviderProcess

PROVIDER_KEY = "__provider"
"""The input in which a dynamic resource carries its serialized provider."""


class ReplayError(RuntimeError):
    """A replay step the engine would also have stopped at; the message says why."""


@dataclass
class ReplayedBinding:
    """One ``ServiceBinding`` the replay created (or adopted) through the provider."""

    registration: Registration
    """What the program registered."""
    id: str
    """The binding id the provider answered with."""
    outputs: dict[str, Any]
    """The provider's outputs (without ``__provider``)."""

    @property
    def cidr(self) -> str:
        """The bound CIDR."""
        return str(self.outputs.get("cidr", self.registration.inputs.get("cidr")))

    @property
    def service(self) -> str:
        """magic_transit, cdn or spectrum."""
        return str(self.outputs.get("service", self.registration.inputs["service"]))


@dataclass
class Deployment:
    """The outcome of ``replay_up``: the bindings in the order they were created."""

    stack: str
    """The stack name the program ran as."""
    config: dict[str, str]
    """The configuration the program and the provider were given."""
    bindings: list[ReplayedBinding] = field(default_factory=list)
    """Every ServiceBinding, dependencies first."""
    registrations: list[Registration] = field(default_factory=list)
    """Everything the program registered, in order."""


class _EchoMocks(pulumi.runtime.Mocks):
    """Mocks that only echo inputs: the real provider decides in the replay."""

    def new_resource(
        self, args: pulumi.runtime.MockResourceArgs
    ) -> tuple[str | None, dict[str, Any]]:
        return f"{args.name}-recorded", dict(args.inputs)

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return dict(args.args), None


def load_stack_config(path: str | Path) -> dict[str, str]:
    """A stack file's ``config:`` as the engine hands it over: strings, JSON.

    Encrypted values (``secure:``) cannot be read without the stack's secrets
    provider, so they raise ``ReplayError`` naming the key.
    """
    document = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    config: dict[str, str] = {}
    for key, value in dict(document.get("config") or {}).items():
        if isinstance(value, Mapping) and "secure" in value:
            raise ReplayError(
                f"{path}: {key} is encrypted; the replay cannot decrypt it, so pass "
                "the value in the replay's configuration instead"
            )
        config[str(key)] = config_text(value)
    return config


def config_text(value: object) -> str:
    """One config value as Pulumi passes it to a program."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value)


def record_program(
    program: str | Path,
    config: Mapping[str, str],
    *,
    project: str = "cloudflare-byoip",
    stack: str = "dev",
    mocks: pulumi.runtime.Mocks | None = None,
) -> RecordingMonitor:
    """Run a Pulumi program file under mocks; return the monitor with its records.

    Errors of the program (``pulumi.RunError`` for a bad configuration) are
    raised here, after Pulumi's global state has been restored.
    """
    with pulumi_mocks(
        mocks if mocks is not None else _EchoMocks(),
        config=config,
        project=project,
        stack=stack,
    ) as monitor:

        @pulumi.runtime.test  # type: ignore[untyped-decorator]
        def run() -> None:
            runpy.run_path(str(program), run_name="__main__")

        run()
    return monitor


def dependency_order(registrations: Sequence[Registration]) -> list[Registration]:
    """The ServiceBinding registrations, every one after those it depends on.

    Ties keep registration order. A cycle cannot come from a Pulumi program,
    but would raise ``ReplayError``.
    """
    bindings = [r for r in registrations if r.type == SERVICE_BINDING_TYPE]
    urns = {r.urn for r in bindings}
    done: set[str] = set()
    ordered: list[Registration] = []
    while len(ordered) < len(bindings):
        ready = [
            r
            for r in bindings
            if r.urn not in done and all(d in done for d in r.dependencies if d in urns)
        ]
        if not ready:
            raise ReplayError("the recorded bindings depend on each other in a cycle")
        ordered.append(ready[0])
        done.add(ready[0].urn)
    return ordered


def replay_up(
    program: str | Path,
    config: Mapping[str, str],
    *,
    project: str = "cloudflare-byoip",
    stack: str = "dev",
    env: Mapping[str, str] | None = None,
) -> Deployment:
    """Run the program under mocks, then Check and Create each binding for real.

    The provider process is configured with ``config``, as the engine would
    configure it. A Check failure or a failed Create raises (``ReplayError`` or
    the provider process's ``ProviderError``) and stops the replay there.
    """
    monitor = record_program(program, config, project=project, stack=stack)
    deployment = Deployment(
        stack=stack, config=dict(config), registrations=list(monitor.registrations)
    )
    with ProviderProcess(config, env) as provider:
        for registration in dependency_order(monitor.registrations):
            inputs, failures = provider.check(registration.urn, {}, registration.inputs)
            if failures:
                reasons = "; ".join(f"{key}: {reason}" for key, reason in failures)
                raise ReplayError(f"check {registration.name}: {reasons}")
            checked = {**inputs, PROVIDER_KEY: registration.inputs[PROVIDER_KEY]}
            binding_id, outputs = provider.create(registration.urn, checked)
            deployment.bindings.append(
                ReplayedBinding(registration, binding_id, outputs)
            )
    return deployment


def replay_destroy(
    deployment: Deployment, env: Mapping[str, str] | None = None
) -> list[ReplayedBinding]:
    """Delete the deployment's bindings in reverse order; return those deleted.

    Bindings registered with ``retain_on_delete`` are left in place, as the
    engine leaves them; a protected binding stops the destroy before anything
    is deleted, as ``pulumi destroy`` refuses.
    """
    protected = [
        b.registration.name for b in deployment.bindings if b.registration.protect
    ]
    if protected:
        raise ReplayError(
            f"{', '.join(protected)} {'is' if len(protected) == 1 else 'are'} "
            "protected; unprotect them (protectBindings: false) before destroying"
        )
    deleted: list[ReplayedBinding] = []
    with ProviderProcess(deployment.config, env) as provider:
        for binding in reversed(deployment.bindings):
            if binding.registration.retain_on_delete:
                continue
            props = {
                **binding.outputs,
                PROVIDER_KEY: binding.registration.inputs[PROVIDER_KEY],
            }
            provider.delete(binding.id, binding.registration.urn, props)
            deleted.append(binding)
    return deleted
