"""State and rules of Cloudflare's Addressing API (services, prefixes, bindings)."""

from __future__ import annotations

import hashlib
import ipaddress
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from cloudflare_byoip.emulator import exceptions
from cloudflare_byoip.emulator.exceptions import ApiError
from cloudflare_byoip.emulator.store import MemoryStore, Store

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MAGIC_TRANSIT = "Magic Transit"
CDN = "CDN"
SPECTRUM = "Spectrum"
SERVICE_NAMES: tuple[str, ...] = (MAGIC_TRANSIT, CDN, SPECTRUM)
"""Services every emulated account can bind, in List Services order."""

ALLOWED_OVERRIDES: dict[str, frozenset[str]] = {
    MAGIC_TRANSIT: frozenset({CDN, SPECTRUM}),
    CDN: frozenset({SPECTRUM}),
    SPECTRUM: frozenset({CDN}),
}
"""For each default binding's service, the services its overrides may use."""

ID_PATTERN = re.compile(r"[0-9a-f]{32}")
"""Account, prefix, binding and service ids: 32 lowercase hex characters."""

_SERVICE_ALIASES = {
    "magic_transit": MAGIC_TRANSIT,
    "cdn": CDN,
    "spectrum": SPECTRUM,
}


class SeedError(ValueError):
    """A seed file or mapping that does not describe a valid emulator state."""


def service_id(account_id: str, service_name: str) -> str:
    """Return the id of a service in an account.

    Ids differ per account on purpose (hash of account id and service name), so a
    client that caches service ids across accounts is caught.
    """
    digest = hashlib.sha256(f"{account_id}/{service_name}".encode()).hexdigest()
    return digest[:32]


def service_name_from_seed(value: str) -> str:
    """Return the canonical service name for a seed's `magic_transit`/`cdn`/..."""
    key = value.strip().lower().replace("-", "_").replace(" ", "_")
    try:
        return _SERVICE_ALIASES[key]
    except KeyError:
        raise ValueError(
            f"unknown service {value!r}; use magic_transit, cdn or spectrum"
        ) from None


def is_id(value: str) -> bool:
    """Tell whether a value has the shape of a Cloudflare object id."""
    return ID_PATTERN.fullmatch(value) is not None


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Binding:
    """A service binding: a CIDR inside a prefix routed to one service."""

    id: str
    """32-hex id of the binding."""
    network: IpNetwork
    """The bound CIDR."""
    service_name: str
    """One of SERVICE_NAMES."""
    created_at: float
    """Emulator clock reading when the binding was created (or restored)."""
    active: bool = False
    """Set once the propagation delay has passed; never goes back."""

    def state(self, now: float, propagation_seconds: float) -> str:
        """Return the provisioning state, turning active once the delay passed."""
        if not self.active and now - self.created_at >= propagation_seconds:
            self.active = True
        return "active" if self.active else "provisioning"


@dataclass
class Prefix:
    """A BYOIP prefix onboarded to an account."""

    id: str
    """32-hex id of the prefix."""
    account_id: str
    """Id of the owning account."""
    network: IpNetwork
    """The prefix's CIDR."""
    asn: int | None
    """ASN the prefix is advertised under."""
    description: str
    """Free text shown in the dashboard."""
    created_at: str
    """ISO 8601 creation time, as the API shows it."""
    bindings: dict[str, Binding] = field(default_factory=dict)
    """Bindings by id, in creation order (the first is the default binding)."""

    def default_binding(self) -> Binding | None:
        """Return the binding that covers the whole prefix, if any."""
        for binding in self.bindings.values():
            if binding.network == self.network:
                return binding
        return None


@dataclass
class Account:
    """A Cloudflare account and its prefixes."""

    id: str
    """32-hex id of the account."""
    prefixes: dict[str, Prefix] = field(default_factory=dict)
    """Prefixes by id."""


class Emulator:
    """The Addressing API's state and rules, with no HTTP in it.

    Every public method takes `lock`, so uvicorn's event loop and test threads can
    call it at once. Methods return the API's JSON shapes and raise `ApiError`
    with the status and code the real API answers with.

    Provisioning: a created binding answers `provisioning` in the create answer;
    reads compute its state lazily from `clock`, and it turns `active` once
    `propagation_seconds` have passed (with the default 0, on the first read).

    Known gaps: the legacy `X-Auth-Email`/`X-Auth-Key` authentication is not
    emulated; every token may use every account (no per-token scopes or
    read-only permissions); the `magic_transit_route_missing` state never
    appears; prefixes cannot be created or deleted through the API.
    """

    def __init__(
        self,
        *,
        store: Store | None = None,
        propagation_seconds: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.lock = threading.Lock()
        """Guards every read and write of the state."""
        self.store: Store = store if store is not None else MemoryStore()
        """Where the state document is saved after each change."""
        self.propagation_seconds = propagation_seconds
        """Seconds a new binding stays `provisioning` before it turns `active`."""
        self.clock = clock
        """Monotonic clock used for provisioning delays; tests may inject one."""
        self._tokens: set[str] = set()
        self._accounts: dict[str, Account] = {}

    # Construction and seeding

    @classmethod
    def from_seed(
        cls,
        seed: Mapping[str, Any] | str | Path,
        *,
        store: Store | None = None,
        propagation_seconds: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> Emulator:
        """Build an emulator from a seed mapping or YAML file.

        When the store already holds a state (a SQLite file from an earlier run),
        that state is restored and the seed's accounts are not applied again; the
        seed is only the first state of a new store. `propagation_seconds` falls
        back to the seed's `propagation_seconds`, then to 0.
        """
        data = load_seed(seed) if isinstance(seed, str | Path) else dict(seed)
        if propagation_seconds is None:
            propagation_seconds = _seed_propagation(data)
        emulator = cls(
            store=store, propagation_seconds=propagation_seconds, clock=clock
        )
        saved = emulator.store.load()
        if saved is not None:
            emulator._restore(saved)
        else:
            emulator._apply_seed(data)
            emulator._save()
        return emulator

    def add_token(self, token: str) -> None:
        """Accept a bearer token on every account."""
        if not token:
            raise ValueError("a token must be a non-empty string")
        with self.lock:
            self._tokens.add(token)
            self._save()

    def add_account(self, account_id: str) -> None:
        """Create an empty account (no-op when it exists)."""
        if not is_id(account_id):
            raise ValueError(
                f"account id {account_id!r} must be 32 lowercase hex characters"
            )
        with self.lock:
            self._accounts.setdefault(account_id, Account(account_id))
            self._save()

    def add_prefix(
        self,
        account_id: str,
        prefix_id: str,
        cidr: str,
        *,
        asn: int | None = 64496,
        description: str = "",
    ) -> dict[str, Any]:
        """Onboard a prefix to an existing account and return it as the API shows it."""
        if not is_id(prefix_id):
            raise ValueError(
                f"prefix id {prefix_id!r} must be 32 lowercase hex characters"
            )
        network = _parse_prefix_cidr(cidr)
        with self.lock:
            account = self._accounts.get(account_id)
            if account is None:
                raise ValueError(
                    f"account {account_id} does not exist; call add_account first"
                )
            if prefix_id in account.prefixes:
                raise ValueError(f"prefix {prefix_id} already exists in the account")
            prefix = Prefix(
                prefix_id, account_id, network, asn, description, _now_iso()
            )
            account.prefixes[prefix_id] = prefix
            self._save()
            return self._prefix_json(prefix)

    def add_binding(
        self,
        account_id: str,
        prefix_id: str,
        cidr: str,
        service: str,
        *,
        binding_id: str | None = None,
        active: bool = False,
    ) -> dict[str, Any]:
        """Create a binding by service name (seed form), under the create rules."""
        name = service_name_from_seed(service)
        with self.lock:
            prefix = self._prefix_for_create(account_id, prefix_id)
            binding = self._create(prefix, cidr, name, binding_id)
            binding.active = active
            self._save()
            return self._binding_json(binding)

    # The API

    def authenticate(self, authorization: str | None) -> None:
        """Check an `Authorization` header: 401 when missing, 403 when unknown."""
        if authorization is None or not authorization.strip():
            raise exceptions.authentication_error(
                401, "missing Authorization header; send 'Bearer <API token>'."
            )
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise exceptions.authentication_error(
                401, "malformed Authorization header; send 'Bearer <API token>'."
            )
        with self.lock:
            known = token.strip() in self._tokens
        if not known:
            raise exceptions.authentication_error(
                403, "the API token is not valid; check the token and its scopes."
            )

    def list_services(self, account_id: str) -> list[dict[str, Any]]:
        """Return the services the account can bind (List Services)."""
        with self.lock:
            self._account(account_id)
            return _services_json(account_id)

    def list_prefixes(self, account_id: str) -> list[dict[str, Any]]:
        """Return the account's prefixes (List Prefixes)."""
        with self.lock:
            account = self._account(account_id)
            return [self._prefix_json(p) for p in account.prefixes.values()]

    def get_prefix(self, account_id: str, prefix_id: str) -> dict[str, Any]:
        """Return one prefix (Get Prefix); 404 code 1000 when unknown."""
        with self.lock:
            return self._prefix_json(self._prefix(account_id, prefix_id))

    def list_bindings(self, account_id: str, prefix_id: str) -> list[dict[str, Any]]:
        """Return the prefix's bindings in creation order (List Service Bindings)."""
        with self.lock:
            prefix = self._prefix(account_id, prefix_id)
            return [self._binding_json(b) for b in prefix.bindings.values()]

    def get_binding(
        self, account_id: str, prefix_id: str, binding_id: str
    ) -> dict[str, Any]:
        """Return one binding (Get Service Binding); 404 code 1002 when unknown."""
        with self.lock:
            prefix = self._prefix(account_id, prefix_id)
            return self._binding_json(self._binding(prefix, binding_id))

    def create_binding(
        self, account_id: str, prefix_id: str, cidr: str, service_id: str
    ) -> dict[str, Any]:
        """Create a binding (Create Service Binding) under the API's rules.

        Refused with 400 code 1003: an unknown prefix (as the real API answers on
        create), a CIDR that does not parse or lies outside the prefix, an unknown
        or empty service id, a first binding that is not the whole prefix, Magic
        Transit anywhere but the default binding, an override service the default
        does not allow, an override overlapping another, and a second binding on
        an identical CIDR. The answer always shows `provisioning`.
        """
        with self.lock:
            prefix = self._prefix_for_create(account_id, prefix_id)
            name = _service_name_by_id(account_id, service_id)
            binding = self._create(prefix, cidr, name, None)
            self._save()
            answer = self._binding_json(binding)
            answer["provisioning"] = {"state": "provisioning"}
            return answer

    def delete_binding(
        self, account_id: str, prefix_id: str, binding_id: str
    ) -> dict[str, Any]:
        """Delete a binding (Delete Service Binding) and return what was deleted.

        Deleting a binding that still has more specific bindings inside it (in
        practice, the default binding while overrides exist) is refused with 400
        code 1003. Cloudflare does not document this case; refusing is the safe
        reading, since removing the default would leave overrides without the
        default their services depend on.
        """
        with self.lock:
            prefix = self._prefix(account_id, prefix_id)
            binding = self._binding(prefix, binding_id)
            inner = [
                other
                for other in prefix.bindings.values()
                if other is not binding and other.network.subnet_of(binding.network)  # type: ignore[arg-type]
            ]
            if inner:
                cidrs = ", ".join(str(other.network) for other in inner)
                raise exceptions.unsupported_binding(
                    f"binding {binding.network} still has more specific bindings "
                    f"inside it ({cidrs}); delete those first."
                )
            answer = self._binding_json(binding)
            del prefix.bindings[binding_id]
            self._save()
            return answer

    def snapshot(self) -> dict[str, Any]:
        """Return every account, prefix and binding as JSON-ready data (no tokens)."""
        with self.lock:
            return {
                "accounts": {
                    account.id: {
                        "id": account.id,
                        "services": _services_json(account.id),
                        "prefixes": {
                            prefix.id: {
                                **self._prefix_json(prefix),
                                "bindings": [
                                    self._binding_json(b)
                                    for b in prefix.bindings.values()
                                ],
                            }
                            for prefix in account.prefixes.values()
                        },
                    }
                    for account in self._accounts.values()
                }
            }

    # Lookups (callers hold the lock)

    def _account(self, account_id: str) -> Account:
        if not is_id(account_id):
            raise exceptions.could_not_route(f"/accounts/{account_id}")
        account = self._accounts.get(account_id)
        if account is None:
            raise exceptions.authentication_error(
                403, f"the API token cannot access account {account_id}."
            )
        return account

    def _prefix(self, account_id: str, prefix_id: str) -> Prefix:
        account = self._account(account_id)
        if not is_id(prefix_id):
            raise exceptions.could_not_route(
                f"/accounts/{account_id}/addressing/prefixes/{prefix_id}"
            )
        prefix = account.prefixes.get(prefix_id)
        if prefix is None:
            raise exceptions.prefix_not_found(prefix_id)
        return prefix

    def _prefix_for_create(self, account_id: str, prefix_id: str) -> Prefix:
        try:
            return self._prefix(account_id, prefix_id)
        except ApiError as error:
            if error.code != exceptions.PREFIX_NOT_FOUND:
                raise
            raise exceptions.unsupported_binding(
                f"prefix {prefix_id} not found in the account; "
                "list the account's prefixes for valid ids."
            ) from None

    def _binding(self, prefix: Prefix, binding_id: str) -> Binding:
        if not is_id(binding_id):
            raise exceptions.could_not_route(
                f"/accounts/{prefix.account_id}/addressing/prefixes/{prefix.id}"
                f"/bindings/{binding_id}"
            )
        binding = prefix.bindings.get(binding_id)
        if binding is None:
            raise exceptions.binding_not_found(binding_id)
        return binding

    # Rules (callers hold the lock)

    def _create(
        self, prefix: Prefix, cidr: str, service_name: str, binding_id: str | None
    ) -> Binding:
        network = _parse_binding_cidr(cidr, prefix)
        _check_layout(prefix, network, service_name)
        if binding_id is None:
            binding_id = uuid.uuid4().hex
        elif not is_id(binding_id) or any(
            binding_id in p.bindings
            for a in self._accounts.values()
            for p in a.prefixes.values()
        ):
            raise ValueError(f"binding id {binding_id!r} is malformed or taken")
        binding = Binding(binding_id, network, service_name, self.clock())
        prefix.bindings[binding_id] = binding
        return binding

    # JSON shapes (callers hold the lock)

    def _prefix_json(self, prefix: Prefix) -> dict[str, Any]:
        return {
            "id": prefix.id,
            "account_id": prefix.account_id,
            "cidr": str(prefix.network),
            "asn": prefix.asn,
            "description": prefix.description,
            "approved": "V",
            "advertised": None,
            "advertised_modified_at": None,
            "on_demand_enabled": False,
            "on_demand_locked": False,
            "loa_document_id": None,
            "created_at": prefix.created_at,
            "modified_at": prefix.created_at,
        }

    def _binding_json(self, binding: Binding) -> dict[str, Any]:
        state = binding.state(self.clock(), self.propagation_seconds)
        return {
            "id": binding.id,
            "cidr": str(binding.network),
            "service_id": service_id(self._account_of(binding), binding.service_name),
            "service_name": binding.service_name,
            "provisioning": {"state": state},
        }

    def _account_of(self, binding: Binding) -> str:
        for account in self._accounts.values():
            for prefix in account.prefixes.values():
                if binding.id in prefix.bindings:
                    return account.id
        raise LookupError(f"binding {binding.id} belongs to no prefix")

    # Persistence (callers hold the lock)

    def _document(self) -> dict[str, Any]:
        now = self.clock()
        return {
            "version": 1,
            "tokens": sorted(self._tokens),
            "accounts": [
                {
                    "id": account.id,
                    "prefixes": [
                        {
                            "id": prefix.id,
                            "cidr": str(prefix.network),
                            "asn": prefix.asn,
                            "description": prefix.description,
                            "created_at": prefix.created_at,
                            "bindings": [
                                {
                                    "id": b.id,
                                    "cidr": str(b.network),
                                    "service": b.service_name,
                                    "active": b.state(now, self.propagation_seconds)
                                    == "active",
                                }
                                for b in prefix.bindings.values()
                            ],
                        }
                        for prefix in account.prefixes.values()
                    ],
                }
                for account in self._accounts.values()
            ],
        }

    def _save(self) -> None:
        self.store.save(self._document())

    def _restore(self, document: Mapping[str, Any]) -> None:
        """Load a saved document; provisioning bindings restart their delay now."""
        now = self.clock()
        self._tokens = set(document.get("tokens", []))
        self._accounts = {}
        for account_data in document.get("accounts", []):
            account = Account(account_data["id"])
            self._accounts[account.id] = account
            for prefix_data in account_data.get("prefixes", []):
                prefix = Prefix(
                    prefix_data["id"],
                    account.id,
                    ipaddress.ip_network(prefix_data["cidr"]),
                    prefix_data.get("asn"),
                    prefix_data.get("description", ""),
                    prefix_data.get("created_at", _now_iso()),
                )
                account.prefixes[prefix.id] = prefix
                for b in prefix_data.get("bindings", []):
                    prefix.bindings[b["id"]] = Binding(
                        b["id"],
                        ipaddress.ip_network(b["cidr"]),
                        b["service"],
                        now,
                        bool(b.get("active", False)),
                    )

    def _apply_seed(self, data: Mapping[str, Any]) -> None:
        """Apply a seed through the public adders, naming the entry that is wrong."""
        for index, token in enumerate(_list(data, "tokens", "seed")):
            if not isinstance(token, str) or not token:
                raise SeedError(f"seed tokens[{index}]: must be a non-empty string")
            self.add_token(token)
        for a_index, account_data in enumerate(_list(data, "accounts", "seed")):
            where = f"seed accounts[{a_index}]"
            account_id = _field(account_data, "id", str, where)
            with _seed_entry(where):
                self.add_account(account_id)
            for p_index, prefix_data in enumerate(
                _list(account_data, "prefixes", where)
            ):
                self._seed_prefix(
                    account_id, prefix_data, f"{where}.prefixes[{p_index}]"
                )

    def _seed_prefix(self, account_id: str, data: Any, where: str) -> None:
        prefix_id = _field(data, "id", str, where)
        cidr = _field(data, "cidr", str, where)
        asn = data.get("asn", 64496)
        if asn is not None and (not isinstance(asn, int) or isinstance(asn, bool)):
            raise SeedError(f"{where}.asn: must be an integer, got {asn!r}")
        description = data.get("description", "")
        if not isinstance(description, str):
            raise SeedError(f"{where}.description: must be a string")
        with _seed_entry(where):
            self.add_prefix(
                account_id, prefix_id, cidr, asn=asn, description=description
            )
        for b_index, binding_data in enumerate(_list(data, "bindings", where)):
            b_where = f"{where}.bindings[{b_index}]"
            b_cidr = _field(binding_data, "cidr", str, b_where)
            service = _field(binding_data, "service", str, b_where)
            binding_id = binding_data.get("id")
            if binding_id is not None and not isinstance(binding_id, str):
                raise SeedError(f"{b_where}.id: must be a string")
            with _seed_entry(b_where):
                self.add_binding(
                    account_id, prefix_id, b_cidr, service, binding_id=binding_id
                )


def load_seed(path: str | Path) -> dict[str, Any]:
    """Read a YAML seed file; SeedError names the file and what is wrong."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise SeedError(f"cannot read seed file {path}: {error.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise SeedError(f"seed file {path} is not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise SeedError(f"seed file {path} must hold a mapping with tokens, accounts")
    return data


def _seed_propagation(data: Mapping[str, Any]) -> float:
    value = data.get("propagation_seconds", 0.0)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise SeedError(
            f"seed propagation_seconds: must be a number of seconds >= 0, got {value!r}"
        )
    return float(value)


def _list(data: Any, key: str, where: str) -> list[Any]:
    if not isinstance(data, Mapping):
        raise SeedError(f"{where}: must be a mapping")
    value = data.get(key, [])
    if value is None:
        return []
    if not isinstance(value, list):
        raise SeedError(f"{where}.{key}: must be a list")
    return value


def _field(data: Any, key: str, kind: type[str], where: str) -> str:
    if not isinstance(data, Mapping):
        raise SeedError(f"{where}: must be a mapping")
    value = data.get(key)
    if not isinstance(value, kind) or not value:
        raise SeedError(f"{where}.{key}: required, must be a non-empty string")
    return value


@contextmanager
def _seed_entry(where: str) -> Iterator[None]:
    """Turn an adder's errors into a SeedError naming the seed entry."""
    try:
        yield
    except ApiError as error:
        raise SeedError(f"{where}: {error.message}") from None
    except ValueError as error:
        raise SeedError(f"{where}: {error}") from None


def _services_json(account_id: str) -> list[dict[str, Any]]:
    return [{"id": service_id(account_id, n), "name": n} for n in SERVICE_NAMES]


def _service_name_by_id(account_id: str, value: str) -> str:
    for name in SERVICE_NAMES:
        if service_id(account_id, name) == value:
            return name
    if not value:
        reason = "service_id is empty"
    else:
        reason = f"service_id {value!r} is not a service of this account"
    raise exceptions.unsupported_binding(
        f"{reason}; take an id from List Services for this account."
    )


def _parse_prefix_cidr(cidr: str) -> IpNetwork:
    try:
        return ipaddress.ip_network(cidr, strict=True)
    except ValueError as error:
        raise ValueError(f"prefix cidr {cidr!r} is not a valid CIDR: {error}") from None


def _parse_binding_cidr(cidr: str, prefix: Prefix) -> IpNetwork:
    if "/" not in cidr:
        raise exceptions.unsupported_binding(
            f"cidr {cidr!r} has no prefix length; write it as address/length."
        )
    try:
        network = ipaddress.ip_network(cidr.strip(), strict=True)
    except ValueError:
        raise exceptions.unsupported_binding(
            f"cidr {cidr!r} is not a valid CIDR with host bits zero, "
            "e.g. 203.0.113.0/24."
        ) from None
    if network.version != prefix.network.version or not network.subnet_of(
        prefix.network  # type: ignore[arg-type]
    ):
        raise exceptions.unsupported_binding(
            f"cidr {network} is not inside the prefix {prefix.network}; "
            "bind a CIDR within the prefix."
        )
    return network


def _check_layout(prefix: Prefix, network: IpNetwork, service_name: str) -> None:
    """Apply the layout rules for a new binding on a prefix."""
    default = prefix.default_binding()
    if default is None:
        if network != prefix.network:
            raise exceptions.unsupported_binding(
                f"the first binding on prefix {prefix.network} must cover the whole "
                f"prefix, not {network}; bind {prefix.network} first."
            )
        return

    if network == prefix.network:
        raise exceptions.unsupported_binding(
            f"{network} already has a binding ({default.service_name}); "
            "delete it before binding the same CIDR again."
        )
    if service_name == MAGIC_TRANSIT:
        raise exceptions.unsupported_binding(
            f"Magic Transit can only be a prefix's default binding; bind {network} "
            "to CDN or Spectrum instead."
        )
    allowed = ALLOWED_OVERRIDES[default.service_name]
    if service_name not in allowed:
        raise exceptions.unsupported_binding(
            f"a {default.service_name} default binding allows "
            f"{' or '.join(sorted(allowed))} overrides, not {service_name}."
        )
    for other in prefix.bindings.values():
        if other is default:
            continue
        if other.network == network:
            raise exceptions.unsupported_binding(
                f"{network} already has a binding ({other.service_name}); "
                "delete it before binding the same CIDR again."
            )
        if other.network.overlaps(network):
            raise exceptions.unsupported_binding(
                f"{network} overlaps the {other.service_name} override "
                f"{other.network}; overrides must not overlap."
            )
