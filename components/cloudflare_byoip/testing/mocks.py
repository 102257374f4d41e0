"""Pulumi mocks backed by the emulator's in-memory model, moto-style, for unit tests.

``ByoipMocks`` answers every ``ServiceBinding`` registration as the Addressing API
would (its rules are the emulator model's, no HTTP involved) and gives a
``pulumi_cloudflare.ByoIpPrefix`` a realistic id. ``RecordingMonitor`` keeps every
registration request, so tests can assert parents, dependencies and options.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import config as pulumi_config
from pulumi.runtime import rpc, settings
from pulumi.runtime.mocks import MockMonitor

from ..emulator.exceptions import ApiError
from ..emulator.models import Emulator
from ..spec import Service

SERVICE_BINDING_TYPE = "pulumi-python:dynamic/byoip:ServiceBinding"
"""Type token of ``cloudflare_byoip.resource.ServiceBinding``."""

BYOIP_PREFIX_TYPE = "cloudflare:index/byoIpPrefix:ByoIpPrefix"
"""Type token of ``pulumi_cloudflare.ByoIpPrefix``."""

COMPONENT_TYPE = "cloudflare-byoip:index:ByoipPrefixWithBindings"
"""Type token of ``cloudflare_byoip.ByoipPrefixWithBindings``."""

DEFAULT_ASN = 64496
"""ASN given to a mocked prefix whose registration names none (RFC 5398)."""


class MockedApiError(ApiError):
    """A registration the Addressing API would refuse, with the API's answer.

    ``status``, ``code`` (e.g. 1003 for an unsupported binding) and ``message``
    are those the emulator's model gives, as the real API would answer.
    """


@dataclass
class Registration:
    """One ``RegisterResource`` request as the mock monitor received it."""

    urn: str
    """The resource's URN (the parent's type is part of it)."""
    type: str
    """Type token, e.g. ``pulumi-python:dynamic/byoip:ServiceBinding``."""
    name: str
    """Logical name given to the resource."""
    parent: str
    """URN of the parent resource (the stack's for top-level resources)."""
    custom: bool
    """True for resources managed by a provider, False for components."""
    dependencies: list[str]
    """URNs in ``depends_on`` and of the resources its inputs came from."""
    protect: bool
    """Whether ``protect`` was set."""
    retain_on_delete: bool
    """Whether ``retain_on_delete`` was set."""
    delete_before_replace: bool
    """Whether ``delete_before_replace`` was set."""
    inputs: dict[str, Any]
    """The inputs, deserialized and unwrapped; a dynamic resource's include
    ``__provider``."""
    secret_inputs: list[str] = field(default_factory=list)
    """The inputs that were sent as secrets (``__provider`` always is)."""
    id: str | None = None
    """The id the mocks answered with (None for components)."""
    outputs: dict[str, Any] = field(default_factory=dict)
    """The state the mocks answered with (components: their registered outputs)."""


class RecordingMonitor(MockMonitor):
    """A ``MockMonitor`` that keeps every registration request in order."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.registrations: list[Registration] = []
        """Every registration except the stack's, in the order they arrived."""
        self._lock = threading.Lock()

    def RegisterResource(self, request: Any) -> Any:
        """Answer as ``MockMonitor`` does, then record the request and answer."""
        response: Any = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type == "pulumi:pulumi:Stack":
            return response
        inputs = rpc.deserialize_properties(request.object)
        registration = Registration(
            urn=response.urn,
            type=request.type,
            name=request.name,
            parent=request.parent,
            custom=bool(request.custom),
            dependencies=list(request.dependencies),
            protect=request.HasField("protect") and request.protect,
            retain_on_delete=request.HasField("retainOnDelete")
            and request.retainOnDelete,
            delete_before_replace=bool(request.deleteBeforeReplace),
            inputs={k: rpc.unwrap_rpc_secret(v) for k, v in inputs.items()},
            secret_inputs=sorted(k for k, v in inputs.items() if rpc.is_rpc_secret(v)),
            id=response.id or None,
            outputs=dict(self.resources[response.urn].state),
        )
        with self._lock:
            self.registrations.append(registration)
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:
        """Keep a component's registered outputs on its registration."""
        outputs = rpc.deserialize_properties(request.outputs)
        with self._lock:
            for registration in self.registrations:
                if registration.urn == request.urn:
                    registration.outputs = dict(outputs)
        return super().RegisterResourceOutputs(request)  # type: ignore[no-untyped-call]

    def of_type(self, type_token: str) -> list[Registration]:
        """The registrations of one type token, in order."""
        with self._lock:
            return [r for r in self.registrations if r.type == type_token]

    def by_name(self, name: str) -> Registration:
        """The registration with this logical name; KeyError when there is none."""
        with self._lock:
            for registration in self.registrations:
                if registration.name == name:
                    return registration
        raise KeyError(f"no resource named {name!r} was registered")


class ByoipMocks(pulumi.runtime.Mocks):
    """Pulumi mocks that answer as Cloudflare's Addressing API would.

    State lives in an ``Emulator`` model (``self.emulator``): seed it with the
    accounts and prefixes your program binds, as you would create a bucket
    before testing code against moto. A ``ServiceBinding`` registration adopts
    an identical binding (same CIDR and service) when ``adopt_existing`` is
    set, and otherwise is created under the API's rules, in registration order;
    a refused one raises ``MockedApiError`` with the API's status, code and
    message, which fails the test as ``pulumi up`` would fail. A
    ``ByoIpPrefix`` gets a fresh 32-hex id and becomes a prefix of the model
    (its account is created when missing). Other resources echo their inputs
    with the id ``<name>_id``.

    Known gaps: previews change the model as an update would (the mocks do
    not tell preview from update); a binding is never deleted, since mocks see
    registrations only; ``wait_for_active`` does not wait, and the state shown
    is the model's (``provisioning`` right after a create).
    """

    def __init__(self, emulator: Emulator | None = None) -> None:
        self.emulator = emulator if emulator is not None else Emulator()
        """The in-memory Addressing API the mocks answer from."""
        self._lock = threading.Lock()

    @classmethod
    def from_seed(cls, seed: Mapping[str, Any] | str | Path) -> ByoipMocks:
        """Mocks whose model starts from an emulator seed (mapping or YAML file)."""
        return cls(Emulator.from_seed(seed, propagation_seconds=0.0))

    def new_resource(
        self, args: pulumi.runtime.MockResourceArgs
    ) -> tuple[str | None, dict[str, Any]]:
        """Answer one registration (or a ``get`` when ``args.resource_id`` is set)."""
        with self._lock:
            if args.typ == SERVICE_BINDING_TYPE:
                return self._service_binding(args)
            if args.typ == BYOIP_PREFIX_TYPE:
                return self._byoip_prefix(args)
        return f"{args.name}_id", dict(args.inputs)

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        """Invokes answer with their arguments; no data source is emulated."""
        return dict(args.args), None

    def _service_binding(
        self, args: pulumi.runtime.MockResourceArgs
    ) -> tuple[str, dict[str, Any]]:
        inputs = {
            key: rpc.unwrap_rpc_secret(value)
            for key, value in args.inputs.items()
            if key != "__provider"
        }
        account_id = str(inputs.get("account_id", ""))
        prefix_id = str(inputs.get("prefix_id", ""))
        if args.resource_id:
            binding = self._call(
                self.emulator.get_binding, account_id, prefix_id, args.resource_id
            )
            return binding["id"], _binding_state(inputs, binding)

        cidr = str(inputs.get("cidr", ""))
        service = Service.parse(inputs.get("service", ""))
        existing = self._existing(account_id, prefix_id, cidr, service)
        if existing is not None and inputs.get("adopt_existing", True):
            return existing["id"], _binding_state(inputs, existing)

        services = self._call(self.emulator.list_services, account_id)
        service_id = next(
            (s["id"] for s in services if s["name"] == service.display_name), ""
        )
        binding = self._call(
            self.emulator.create_binding, account_id, prefix_id, cidr, service_id
        )
        return binding["id"], _binding_state(inputs, binding)

    def _existing(
        self, account_id: str, prefix_id: str, cidr: str, service: Service
    ) -> dict[str, Any] | None:
        try:
            bindings = self.emulator.list_bindings(account_id, prefix_id)
        except Exception:  # the create below reports the API's own error
            return None
        for binding in bindings:
            if binding["cidr"] == cidr and binding["service_name"] == (
                service.display_name
            ):
                return binding
        return None

    def _byoip_prefix(
        self, args: pulumi.runtime.MockResourceArgs
    ) -> tuple[str, dict[str, Any]]:
        inputs = {k: rpc.unwrap_rpc_secret(v) for k, v in args.inputs.items()}
        account_id = str(inputs.get("accountId", ""))
        prefix_id = args.resource_id or uuid.uuid4().hex
        if args.resource_id:
            prefix = self._call(self.emulator.get_prefix, account_id, prefix_id)
        else:
            self.emulator.add_account(account_id)
            prefix = self.emulator.add_prefix(
                account_id,
                prefix_id,
                str(inputs.get("cidr", "")),
                asn=int(inputs.get("asn") or DEFAULT_ASN),
                description=str(inputs.get("description") or ""),
            )
        state = {
            **inputs,
            "accountId": prefix["account_id"],
            "cidr": prefix["cidr"],
            "asn": prefix["asn"],
            "description": prefix["description"],
            "approved": prefix["approved"],
            "advertised": False,
            "onDemandEnabled": prefix["on_demand_enabled"],
            "onDemandLocked": prefix["on_demand_locked"],
            "createdAt": prefix["created_at"],
            "modifiedAt": prefix["modified_at"],
        }
        if inputs.get("loaDocumentId"):
            state["loaDocumentId"] = inputs["loaDocumentId"]
        return prefix_id, state

    @staticmethod
    def _call(function: Any, *args: str) -> Any:
        try:
            return function(*args)
        except ApiError as error:
            raise MockedApiError(error.status, error.code, error.message) from None


def _binding_state(
    inputs: Mapping[str, Any], binding: Mapping[str, Any]
) -> dict[str, Any]:
    return {
        **inputs,
        "cidr": binding["cidr"],
        "binding_id": binding["id"],
        "service_id": binding["service_id"],
        "service_name": binding["service_name"],
        "provisioning_state": binding["provisioning"]["state"],
    }


def _ensure_event_loop() -> None:
    """Give this thread an event loop if it has none.

    ``@pulumi.runtime.test`` runs on the thread's current loop, and an earlier
    ``asyncio.run`` in the same test session leaves none set. The loop stays
    set afterwards: closing it would drop the registrations Pulumi still has
    scheduled on it.
    """
    try:
        asyncio.get_event_loop_policy().get_event_loop()
    except RuntimeError:
        asyncio.set_event_loop(asyncio.new_event_loop())


@contextmanager
def pulumi_mocks(
    mocks: pulumi.runtime.Mocks | None = None,
    *,
    config: Mapping[str, str] | None = None,
    project: str = "project",
    stack: str = "stack",
    preview: bool = False,
) -> Iterator[RecordingMonitor]:
    """Install mocks and a ``RecordingMonitor`` for one block, then restore.

    ``set_mocks`` changes process-wide state; this puts back the previous
    settings, root resource and configuration on exit, so tests stay
    independent. ``config`` maps namespaced keys (``byoip:accountId``) to the
    string values Pulumi would hand the program; structured values are JSON.
    Run the program inside the block, in a function decorated with
    ``@pulumi.runtime.test``, and assert on ``monitor.registrations`` after it
    returns.
    """
    saved_config = dict(pulumi_config.CONFIG.get())
    saved_secret_keys = list(pulumi_config._SECRET_KEYS.get())
    saved_settings = {
        name: getattr(settings.SETTINGS, name)
        for name in ("monitor", "engine", "project", "stack", "dry_run", "organization")
    }
    saved_root = settings.get_root_resource()
    _ensure_event_loop()

    monitor = RecordingMonitor(mocks if mocks is not None else ByoipMocks())
    pulumi_config.set_all_config(dict(config or {}), [])
    settings.ROOT.set(None)
    pulumi.runtime.set_mocks(
        monitor.mocks, project=project, stack=stack, preview=preview, monitor=monitor
    )
    try:
        yield monitor
    finally:
        # A failed registration leaves futures whose exceptions nobody read;
        # collect them here, so their finalizers do not run at a random later
        # point (CPython 3.11 fails an ast.parse that a finalizer interrupts).
        gc.collect()
        pulumi_config.set_all_config(saved_config, saved_secret_keys)
        settings.configure(
            settings.Settings(
                monitor=saved_settings["monitor"],
                engine=saved_settings["engine"],
                project=saved_settings["project"],
                stack=saved_settings["stack"],
                dry_run=saved_settings["dry_run"],
                organization=saved_settings["organization"],
            )
        )
        settings.ROOT.set(saved_root)
