"""The dynamic provider behind ``ServiceBinding``: Cloudflare's binding API in
Pulumi's life cycle (configure, check, diff, create, read, update, delete).

The engine runs it in its own process (``python -m pulumi.dynamic``) and calls
it from four threads at once; everything shared here is built lazily in that
process and guarded by locks.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import cloudflare
import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)
from pulumi.output import Unknown
from pulumi.runtime import rpc

from .cidr import CidrError, parse_cidr
from .spec import Service, check_id

PROVIDER_KEY = "__provider"
"""The property in which the engine carries the serialized provider."""

REPLACE_KEYS = ("account_id", "prefix_id", "cidr", "service")
"""Inputs whose change deletes the binding and creates a new one."""

FLAG_DEFAULTS: dict[str, bool | int] = {
    "adopt_existing": True,
    "wait_for_active": False,
    "wait_timeout_seconds": 900,
    "allow_disruption": False,
}
"""Inputs that only steer the provider, with their defaults; they change in place."""

OUTPUT_KEYS = ("binding_id", "service_id", "service_name", "provisioning_state")
"""What the provider adds to the inputs in the resource's outputs."""

LISTING_TTL_SECONDS = 5.0
"""How long a prefix's listing of bindings serves refreshes before a new List."""

MAX_RETRY_AFTER_SECONDS = 60.0
"""The longest ``Retry-After`` the provider waits for on one attempt."""

POLL_MAX_INTERVAL_SECONDS = 30.0
"""The longest pause between two polls while waiting for ``active``."""

PREFIX_NOT_FOUND = 1000
"""Cloudflare's error code for a prefix that does not exist."""

BINDING_NOT_FOUND = 1002
"""Cloudflare's error code for a binding that does not exist."""

DISRUPTION = (
    "deletes and recreates the binding, which disrupts {cidr} for four to six "
    "hours while Cloudflare propagates both changes"
)


class ServiceBindingError(Exception):
    """A failed operation, as one line: operation, CIDR, what happened, what to do."""


@dataclass(frozen=True)
class Settings:
    """What ``configure`` read from the stack configuration and environment."""

    api_token: str | None = field(repr=False)
    """The Cloudflare API token; never logged, pickled or returned."""
    base_url: str | None
    """The API endpoint; None means the SDK's default (api.cloudflare.com)."""
    max_retries: int = 3
    """Retries after a 429, a 5xx or a timeout, per API call."""
    listing_ttl: float = LISTING_TTL_SECONDS
    """Seconds a prefix's listing serves refreshes; 0 lists on every read."""

    @classmethod
    def from_config(cls, config: Callable[[str], Any]) -> Settings:
        """Read ``cloudflare:apiToken``, ``cloudflare:baseUrl``, ``byoip:maxRetries``
        and ``byoip:listingCacheSeconds``.

        The token and endpoint fall back to ``CLOUDFLARE_API_TOKEN`` and
        ``CLOUDFLARE_BASE_URL``, as pulumi-cloudflare does.
        """
        token = config("cloudflare:apiToken") or os.environ.get("CLOUDFLARE_API_TOKEN")
        base_url = config("cloudflare:baseUrl") or os.environ.get("CLOUDFLARE_BASE_URL")
        max_retries = _bounded(
            config("byoip:maxRetries"), "byoip:maxRetries", 3, 10, "retries"
        )
        return cls(
            api_token=str(token) if token else None,
            base_url=str(base_url) if base_url else None,
            max_retries=int(max_retries),
            listing_ttl=_bounded(
                config("byoip:listingCacheSeconds"),
                "byoip:listingCacheSeconds",
                LISTING_TTL_SECONDS,
                300,
                "seconds",
            ),
        )


@dataclass(frozen=True)
class Binding:
    """A service binding as the API shows it."""

    id: str
    cidr: str
    service_id: str
    service_name: str
    state: str
    """The provisioning state: provisioning, active or magic_transit_route_missing."""

    @classmethod
    def from_api(cls, item: Any) -> Binding:
        provisioning = getattr(item, "provisioning", None)
        return cls(
            id=str(item.id or ""),
            cidr=_canonical_cidr(str(item.cidr or "")),
            service_id=str(item.service_id or ""),
            service_name=str(item.service_name or ""),
            state=str(getattr(provisioning, "state", None) or "provisioning"),
        )


@dataclass(frozen=True)
class BindingInputs:
    """The checked inputs of one ``ServiceBinding``."""

    account_id: str
    prefix_id: str
    cidr: str
    service: Service
    adopt_existing: bool = True
    wait_for_active: bool = False
    wait_timeout_seconds: float = 900
    allow_disruption: bool = False

    @classmethod
    def from_props(cls, props: Mapping[str, Any]) -> BindingInputs:
        """Read inputs (or outputs, which contain them) after ``check``."""
        return cls(
            account_id=str(props["account_id"]),
            prefix_id=str(props["prefix_id"]),
            cidr=_canonical_cidr(str(props["cidr"])),
            service=Service.parse(props["service"]),
            adopt_existing=bool(props.get("adopt_existing", True)),
            wait_for_active=bool(props.get("wait_for_active", False)),
            wait_timeout_seconds=float(props.get("wait_timeout_seconds", 900)),
            allow_disruption=bool(props.get("allow_disruption", False)),
        )

    def outputs(self, binding: Binding) -> dict[str, Any]:
        """The resource's outputs: these inputs plus what the API knows."""
        return {
            "account_id": self.account_id,
            "prefix_id": self.prefix_id,
            "cidr": binding.cidr or self.cidr,
            "service": _service_from_name(binding.service_name) or self.service.value,
            "adopt_existing": self.adopt_existing,
            "wait_for_active": self.wait_for_active,
            "wait_timeout_seconds": _whole(self.wait_timeout_seconds),
            "allow_disruption": self.allow_disruption,
            "binding_id": binding.id,
            "service_id": binding.service_id,
            "service_name": binding.service_name,
            "provisioning_state": binding.state,
        }


def _bounded(raw: Any, key: str, default: float, most: int, what: str) -> float:
    """A config number from 0 to ``most``; ``default`` when unset, else an error."""
    if raw in (None, ""):
        return default
    try:
        value = float(str(raw))
    except ValueError:
        value = -1.0
    whole = what == "retries"
    if not 0 <= value <= most or (whole and not value.is_integer()):
        kind = "a whole number" if whole else "a number"
        raise ServiceBindingError(
            f"{key}: {raw!r} is not a number of {what}; set it to {kind} "
            f"from 0 to {most}"
        )
    return value


class ServiceBindingProvider(ResourceProvider):
    """Creates, adopts, refreshes and deletes one Cloudflare BYOIP service binding.

    The instance holds nothing until ``configure`` runs in the provider process,
    and pickling drops whatever ``configure`` set, so neither the token nor the
    SDK client can reach the state. Cloudflare has no update call: a change of
    account, prefix, CIDR or service replaces the binding (deleting it first),
    and ``check`` refuses a CIDR or service change unless ``allow_disruption``
    is true. A change of ``account_id`` or ``prefix_id`` also replaces the
    binding but is not guarded, since it moves the binding rather than changing
    what its addresses reach.
    """

    _api: CloudflareApi | None = None
    """The API client and caches, set by ``configure`` in the provider process."""

    def __init__(self) -> None:
        super().__init__()

    def __getstate__(self) -> dict[str, Any]:
        return {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    # Configure

    def configure(self, req: ConfigureRequest) -> None:
        """Read credentials and retries from the stack config; connect lazily."""
        settings = Settings.from_config(req.config.get)
        self._api = CloudflareApi(settings)

    def _client(self) -> CloudflareApi:
        api = self._api
        if api is None:
            api = CloudflareApi(Settings.from_config(lambda _key: None))
            self._api = api
        return api

    # Check and diff

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Apply the spec's format rules and the disruption guard; normalise."""
        inputs = {key: value for key, value in news.items() if key != PROVIDER_KEY}
        for key, default in FLAG_DEFAULTS.items():
            if inputs.get(key) is None:
                inputs[key] = default
        failures: list[CheckFailure] = []

        def fail(key: str, reason: str) -> None:
            failures.append(CheckFailure(key, f"{key}: {reason}"))

        for key, what in (("account_id", "account id"), ("prefix_id", "prefix id")):
            value = inputs.get(key)
            if value is None:
                fail(key, f"is required; set the Cloudflare {what}")
            elif not _unknown(value):
                try:
                    check_id(str(value), what)
                except ValueError as error:
                    fail(key, str(error))

        cidr = inputs.get("cidr")
        if cidr is None:
            fail("cidr", "is required; set the CIDR to bind, e.g. 203.0.113.0/24")
        elif not _unknown(cidr):
            try:
                inputs["cidr"] = str(parse_cidr(str(cidr)))
            except CidrError as error:
                fail("cidr", str(error))

        service = inputs.get("service")
        if service is None:
            fail("service", "is required; set magic_transit, cdn or spectrum")
        elif not _unknown(service):
            try:
                inputs["service"] = Service.parse(service).value
            except ValueError as error:
                fail("service", str(error))

        for key in ("adopt_existing", "wait_for_active", "allow_disruption"):
            value = inputs[key]
            if not _unknown(value) and not isinstance(value, bool):
                fail(key, f"{value!r} is not a boolean; set true or false")
        timeout = inputs["wait_timeout_seconds"]
        if not _unknown(timeout):
            if isinstance(timeout, bool) or not isinstance(timeout, int | float):
                fail(
                    "wait_timeout_seconds",
                    f"{timeout!r} is not a number; set seconds, e.g. 900",
                )
            elif timeout < 0:
                fail(
                    "wait_timeout_seconds",
                    f"{timeout!r} is negative; set 0 or more seconds",
                )
            else:
                inputs["wait_timeout_seconds"] = _whole(timeout)

        failed = {failure.property for failure in failures}
        failures.extend(_disruption_failures(olds, inputs, failed))
        return CheckResult(inputs, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Replace (delete first) on account, prefix, CIDR or service; else update."""
        replaces = [key for key in REPLACE_KEYS if _differs(key, olds, news)]
        updates = [key for key in FLAG_DEFAULTS if _differs(key, olds, news)]
        return DiffResult(
            changes=bool(replaces or updates),
            replaces=replaces,
            delete_before_replace=True,
        )

    # Create, read, update, delete

    def create(self, props: dict[str, Any]) -> CreateResult:
        """Adopt or create the binding; wait for ``active`` when asked."""
        inputs = BindingInputs.from_props(props)
        api = self._client()
        with _operation("create", inputs.cidr):
            binding = api.ensure_binding(inputs)
        if inputs.wait_for_active and binding.state != "active":
            binding = api.wait_for_active(inputs, binding, "create")
        return CreateResult(binding.id, inputs.outputs(binding))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Refresh from the prefix's listing; an empty id means it is gone."""
        inputs = BindingInputs.from_props(props)
        with _operation("read", inputs.cidr):
            binding = self._client().find_binding(inputs, id_)
        if binding is None:
            pulumi.log.info(
                f"read {inputs.cidr}: binding {id_} no longer exists at Cloudflare; "
                "removing it from the stack"
            )
            return ReadResult("", {})
        return ReadResult(binding.id, inputs.outputs(binding))

    def update(
        self, id_: str, olds: dict[str, Any], news: dict[str, Any]
    ) -> UpdateResult:
        """Change the flags only (the binding itself cannot change in place)."""
        inputs = BindingInputs.from_props(news)
        binding = Binding(
            id=id_,
            cidr=inputs.cidr,
            service_id=str(olds.get("service_id") or ""),
            service_name=str(olds.get("service_name") or ""),
            state=str(olds.get("provisioning_state") or "provisioning"),
        )
        if inputs.wait_for_active and binding.state != "active":
            binding = self._client().wait_for_active(inputs, binding, "update")
        return UpdateResult(inputs.outputs(binding))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        """Delete the binding; one that is already gone counts as deleted."""
        inputs = BindingInputs.from_props(props)
        with _operation("delete", inputs.cidr):
            self._client().delete_binding(inputs, id_)


class CloudflareApi:
    """The SDK client and the caches one provider process shares across threads.

    Service ids are listed once per account. Listings of a prefix's bindings
    serve refreshes for ``LISTING_TTL_SECONDS``; the provider's own creates and
    deletes update them, and a binding missing from a cached listing is looked
    up again in a fresh one before it is reported gone.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._sdk: cloudflare.Cloudflare | None = None
        self._sdk_once: cloudflare.Cloudflare | None = None
        self._services: dict[str, dict[str, str]] = {}
        self._listings = Listings(self._list_bindings, settings.listing_ttl)
        self._account_locks: dict[str, threading.Lock] = {}

    def _clients(self) -> tuple[cloudflare.Cloudflare, cloudflare.Cloudflare]:
        """The client (SDK retries) and a copy that never retries, for the POST."""
        with self._lock:
            if self._sdk is None or self._sdk_once is None:
                if not self.settings.api_token:
                    raise ServiceBindingError(
                        "no Cloudflare API token: set it with `pulumi config set "
                        "--secret cloudflare:apiToken <token>` or the "
                        "CLOUDFLARE_API_TOKEN environment variable"
                    )
                self._sdk = cloudflare.Cloudflare(
                    api_token=self.settings.api_token,
                    base_url=self.settings.base_url,
                    max_retries=self.settings.max_retries,
                )
                self._sdk_once = self._sdk.with_options(max_retries=0)
            return self._sdk, self._sdk_once

    # Services

    def service_id(self, account_id: str, service: Service) -> str:
        """Resolve a service's id in an account, listing services once per account."""
        with self._lock:
            lock = self._account_locks.setdefault(account_id, threading.Lock())
        with lock:
            ids = self._services.get(account_id)
            if ids is None:
                sdk, _ = self._clients()
                page = sdk.addressing.services.list(account_id=account_id)
                ids = {str(s.name): str(s.id) for s in page.result or [] if s.id}
                self._services[account_id] = ids
        found = ids.get(service.display_name)
        if found is None:
            offered = ", ".join(sorted(ids)) or "none"
            raise ServiceBindingError(
                f"account {account_id} cannot bind {service.display_name} (List "
                f"Services offers {offered}); add it to the account's contract or "
                "choose another service"
            )
        return found

    # Bindings

    def _list_bindings(self, key: tuple[str, str]) -> list[Binding]:
        sdk, _ = self._clients()
        account_id, prefix_id = key
        page = sdk.addressing.prefixes.service_bindings.list(
            prefix_id, account_id=account_id
        )
        return [Binding.from_api(item) for item in page.result or []]

    def _on_cidr(self, inputs: BindingInputs, *, fresh: bool) -> Binding | None:
        key = (inputs.account_id, inputs.prefix_id)
        for binding in self._listings.get(key, fresh=fresh):
            if binding.cidr == inputs.cidr:
                return binding
        return None

    def ensure_binding(self, inputs: BindingInputs) -> Binding:
        """Adopt the binding already on the CIDR, or create one; never two."""
        service_id = self.service_id(inputs.account_id, inputs.service)
        existing = self._on_cidr(inputs, fresh=False)
        if existing is not None:
            existing = self._on_cidr(inputs, fresh=True)
        if existing is not None:
            return self._adopt(inputs, existing, service_id, created_by_us=False)
        binding = self._post(inputs, service_id)
        self._listings.record((inputs.account_id, inputs.prefix_id), binding)
        return binding

    def _adopt(
        self,
        inputs: BindingInputs,
        existing: Binding,
        service_id: str,
        *,
        created_by_us: bool,
    ) -> Binding:
        if existing.service_id != service_id:
            other = _service_from_name(existing.service_name) or existing.service_name
            raise ServiceBindingError(
                f"the CIDR is already bound to {other} "
                f"(binding {existing.id}), not {inputs.service.value}; delete that "
                f"binding first, or set service to {other} to manage it"
            )
        if not (inputs.adopt_existing or created_by_us):
            raise ServiceBindingError(
                f"the CIDR already has a {inputs.service.value} "
                f"binding ({existing.id}) and adopt_existing is false; set "
                "adopt_existing to true to manage it, or delete it first"
            )
        if created_by_us:
            pulumi.log.info(
                f"create {inputs.cidr}: the API failed after committing the binding; "
                f"using binding {existing.id} that it created"
            )
        else:
            pulumi.log.info(
                f"create {inputs.cidr}: adopting existing {inputs.service.value} "
                f"binding {existing.id}"
            )
        return existing

    def _post(self, inputs: BindingInputs, service_id: str) -> Binding:
        """POST the binding, retrying by hand: a retry must not create a duplicate.

        After a 5xx or a timeout the binding may exist anyway, so the prefix is
        listed again and a binding on the CIDR is taken as the one created.
        """
        _, once = self._clients()
        attempts = self.settings.max_retries + 1
        uncertain = False
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                result = once.addressing.prefixes.service_bindings.create(
                    inputs.prefix_id,
                    account_id=inputs.account_id,
                    cidr=inputs.cidr,
                    service_id=service_id,
                )
            except cloudflare.RateLimitError as error:
                if last:
                    raise
                time.sleep(_retry_after(error.response.headers, attempt))
                continue
            except (cloudflare.InternalServerError, cloudflare.APIConnectionError):
                uncertain = True
                found = self._recover(inputs)
                if found is not None:
                    return self._adopt(inputs, found, service_id, created_by_us=True)
                if last:
                    raise
                time.sleep(_backoff(attempt))
                continue
            except cloudflare.BadRequestError:
                if uncertain or inputs.adopt_existing:
                    found = self._recover(inputs)
                    if found is not None:
                        return self._adopt(
                            inputs, found, service_id, created_by_us=uncertain
                        )
                raise
            if result is None or not result.id:
                raise ServiceBindingError(
                    "Cloudflare answered without a binding; "
                    "list the prefix's bindings and run the update again"
                )
            return Binding.from_api(result)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _recover(self, inputs: BindingInputs) -> Binding | None:
        """A fresh look at the CIDR after a doubtful POST; None when unreachable."""
        try:
            return self._on_cidr(inputs, fresh=True)
        except cloudflare.APIError:
            return None

    def find_binding(self, inputs: BindingInputs, binding_id: str) -> Binding | None:
        """The binding with this id, or None when it (or its prefix) is gone.

        Only Cloudflare's "prefix not found" counts as gone; any other 404 (a
        wrong endpoint, say) raises, so a refresh never drops a binding it
        could not look at.
        """
        key = (inputs.account_id, inputs.prefix_id)
        try:
            for fresh in (False, True):
                for binding in self._listings.get(key, fresh=fresh):
                    if binding.id == binding_id:
                        return binding
        except cloudflare.NotFoundError as error:
            if _codes(error) & {PREFIX_NOT_FOUND}:
                return None
            raise
        return None

    def delete_binding(self, inputs: BindingInputs, binding_id: str) -> None:
        """Delete by id; "binding not found" or "prefix not found" is success."""
        sdk, _ = self._clients()
        try:
            sdk.addressing.prefixes.service_bindings.delete(
                binding_id, account_id=inputs.account_id, prefix_id=inputs.prefix_id
            )
        except cloudflare.NotFoundError as error:
            if not _codes(error) & {PREFIX_NOT_FOUND, BINDING_NOT_FOUND}:
                raise
            pulumi.log.info(
                f"delete {inputs.cidr}: binding {binding_id} was already gone"
            )
        self._listings.forget((inputs.account_id, inputs.prefix_id), binding_id)

    def wait_for_active(
        self, inputs: BindingInputs, binding: Binding, operation: str
    ) -> Binding:
        """Poll until ``active`` or the timeout; warn, never raise, at the end."""
        sdk, _ = self._clients()
        deadline = time.monotonic() + inputs.wait_timeout_seconds
        interval = 1.0
        while binding.state != "active":
            left = deadline - time.monotonic()
            if left <= 0:
                pulumi.log.warn(
                    f"{operation} {inputs.cidr}: binding {binding.id} is still "
                    f"{binding.state} after {_whole(inputs.wait_timeout_seconds)} s; "
                    "Cloudflare takes four to six hours, so refresh later to see "
                    "it active"
                )
                return binding
            time.sleep(min(interval, left))
            interval = min(interval * 2, POLL_MAX_INTERVAL_SECONDS)
            try:
                item = sdk.addressing.prefixes.service_bindings.get(
                    binding.id,
                    account_id=inputs.account_id,
                    prefix_id=inputs.prefix_id,
                )
            except cloudflare.APIError as error:
                pulumi.log.warn(
                    f"{operation} {inputs.cidr}: stopped waiting for binding "
                    f"{binding.id} to become active: {_describe(error)}"
                )
                return binding
            if item is not None:
                binding = Binding.from_api(item)
        return binding


class Listings:
    """Short-lived listings of each prefix's bindings, shared across threads.

    Concurrent requests for one prefix wait for a single List call. ``record``
    and ``forget`` apply the provider's own writes to a cached listing, and a
    List that was in flight during such a write is not cached.
    """

    def __init__(
        self,
        fetch: Callable[[tuple[str, str]], list[Binding]],
        ttl: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], tuple[float, list[Binding]]] = {}
        self._generations: dict[tuple[str, str], int] = {}
        self._key_locks: dict[tuple[str, str], threading.Lock] = {}

    def _cached(self, key: tuple[str, str]) -> list[Binding] | None:
        with self._lock:
            entry = self._entries.get(key)
        if entry is not None and self._clock() - entry[0] < self._ttl:
            return entry[1]
        return None

    def get(self, key: tuple[str, str], *, fresh: bool = False) -> list[Binding]:
        """The prefix's bindings, from a listing at most ``ttl`` old unless fresh."""
        if not fresh and (cached := self._cached(key)) is not None:
            return cached
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            if not fresh and (cached := self._cached(key)) is not None:
                return cached
            with self._lock:
                generation = self._generations.get(key, 0)
            started = self._clock()
            bindings = self._fetch(key)
            with self._lock:
                if self._generations.get(key, 0) == generation:
                    self._entries[key] = (started, bindings)
            return bindings

    def record(self, key: tuple[str, str], binding: Binding) -> None:
        """Add a binding this process created to the cached listing."""
        with self._lock:
            self._generations[key] = self._generations.get(key, 0) + 1
            entry = self._entries.get(key)
            if entry is not None:
                rest = [b for b in entry[1] if b.id != binding.id]
                self._entries[key] = (entry[0], [*rest, binding])

    def forget(self, key: tuple[str, str], binding_id: str) -> None:
        """Drop a binding this process deleted from the cached listing."""
        with self._lock:
            self._generations[key] = self._generations.get(key, 0) + 1
            entry = self._entries.get(key)
            if entry is not None:
                rest = [b for b in entry[1] if b.id != binding_id]
                self._entries[key] = (entry[0], rest)


class _operation:
    """Turns an error inside the block into one line: operation, CIDR, message.

    The dynamic provider server reports an exception with its traceback; the
    error is raised without its cause, so the last line is this sentence alone.
    """

    def __init__(self, name: str, cidr: str) -> None:
        self.name = name
        self.cidr = cidr

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, error: Any, _tb: Any
    ) -> Literal[False]:
        if isinstance(error, cloudflare.APIError):
            detail = _describe(error)
        elif isinstance(error, ServiceBindingError):
            detail = str(error)
        else:
            return False
        raise ServiceBindingError(f"{self.name} {self.cidr}: {detail}") from None


def _describe(error: cloudflare.APIError) -> str:
    """Cloudflare's error code and message, and what to do about it."""
    if isinstance(error, cloudflare.APIConnectionError):
        return (
            f"could not reach the Cloudflare API ({error.message}); check "
            "cloudflare:baseUrl and the network, then run the update again"
        )
    first = error.errors[0] if error.errors else None
    code = first.code if first is not None else None
    message = (first.message if first is not None else None) or error.message
    message = message.rstrip(".")
    status = getattr(error, "status_code", None)
    head = (
        f"Cloudflare error {code}: {message}"
        if code is not None
        else f"HTTP {status}: {message}"
    )
    return f"{head}; {_advice(code, status)}"


def _codes(error: cloudflare.APIError) -> set[int]:
    return {item.code for item in error.errors if item.code is not None}


def _advice(code: int | None, status: int | None) -> str:
    if code == 10000 or status in (401, 403):
        return (
            "check cloudflare:apiToken (or CLOUDFLARE_API_TOKEN) and that it has "
            "the IP Prefixes: Edit permission on the account"
        )
    if code == PREFIX_NOT_FOUND:
        return "check prefix_id against the account's List Prefixes answer"
    if code == 1003:
        return "check the binding against Cloudflare's binding rules and prefix_id"
    if code == 7003:
        return "check account_id and prefix_id (32 lowercase hex characters)"
    if status == 429:
        return (
            "the account's rate limit (1,200 requests per five minutes) outlasted "
            "byoip:maxRetries; wait five minutes or raise byoip:maxRetries"
        )
    if status is not None and status >= 500:
        return "Cloudflare kept failing after byoip:maxRetries retries; try again later"
    return "see Cloudflare's BYOIP service binding documentation"


def _retry_after(headers: Mapping[str, str], attempt: int) -> float:
    value = headers.get("retry-after")
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        seconds = None
    if seconds is not None and 0 <= seconds <= MAX_RETRY_AFTER_SECONDS:
        return seconds
    return _backoff(attempt)


def _backoff(attempt: int) -> float:
    """Exponential backoff from 0.5 s to 8 s, with up to a quarter of jitter."""
    delay: float = min(0.5 * 2**attempt, 8.0)
    return delay * (1 - 0.25 * random.random())


def _disruption_failures(
    olds: Mapping[str, Any], news: Mapping[str, Any], failed: set[str]
) -> list[CheckFailure]:
    """Refuse a CIDR or service change unless allow_disruption is true."""
    allow = news.get("allow_disruption")
    if not olds or allow is True or _unknown(allow):
        return []
    failures = []
    for key in ("cidr", "service"):
        if key in failed or not _differs(key, olds, news):
            continue
        old, new = olds.get(key), news.get(key)
        if old is None or _unknown(new):
            continue
        cidr = olds.get("cidr")
        failures.append(
            CheckFailure(
                key,
                f"{key}: changing {old} to {new} "
                + DISRUPTION.format(cidr=cidr)
                + "; set allow_disruption to true to make this change",
            )
        )
    return failures


def _differs(key: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> bool:
    """Whether ``key`` changes, comparing normalised values; unknown counts."""
    default = FLAG_DEFAULTS.get(key)
    old, new = olds.get(key, default), news.get(key, default)
    if _unknown(new) or _unknown(old):
        return True
    return bool(_normal(key, old) != _normal(key, new))


def _normal(key: str, value: Any) -> Any:
    if value is None:
        return FLAG_DEFAULTS.get(key)
    if key == "cidr":
        return _canonical_cidr(str(value))
    if key == "service":
        try:
            return Service.parse(value).value
        except ValueError:
            return value
    return value


def _unknown(value: Any) -> bool:
    return isinstance(value, Unknown) or (
        isinstance(value, str) and value == rpc.UNKNOWN
    )


def _canonical_cidr(text: str) -> str:
    try:
        return str(parse_cidr(text))
    except CidrError:
        return text


def _service_from_name(name: str) -> str | None:
    try:
        return Service.parse(name).value
    except ValueError:
        return None


def _whole(value: float) -> int | float:
    """Seconds as an int when whole (Pulumi carries numbers as floats)."""
    return int(value) if float(value).is_integer() else value
