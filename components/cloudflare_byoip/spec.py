"""The ``byoip:`` stack configuration: models, the offline binding rules, routes.

Nothing here knows Pulumi or HTTP. ``validate_stack`` and ``validate_prefix``
check a whole description at once and report every problem together, each as a
config path and one message that names the value, the rule and the fix.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    WithJsonSchema,
)
from pydantic.alias_generators import to_camel

from .cidr import CidrError, Net, parse_cidr, range_to_nets

NAMESPACE = "byoip"
"""The Pulumi config namespace of this project's stack settings."""

Problem = tuple[str, str]
"""A config path such as ``byoip:prefixes[0].cidr`` and what is wrong there."""

_M = TypeVar("_M", bound=BaseModel)

SMALLEST_PREFIX = {4: 24, 6: 48}
"""The longest prefix length Cloudflare onboards, per IP version."""


class SpecError(ValueError):
    """A configuration that breaks the rules; ``problems`` lists every one."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: list[Problem] = list(problems)
        super().__init__("\n".join(f"{path}: {message}" for path, message in problems))


class Service(StrEnum):
    """A Cloudflare service that a binding routes addresses to."""

    MAGIC_TRANSIT = "magic_transit"
    CDN = "cdn"
    SPECTRUM = "spectrum"

    @property
    def display_name(self) -> str:
        """The name Cloudflare's List Services call gives this service."""
        return _DISPLAY_NAMES[self]

    @classmethod
    def parse(cls, value: object) -> Service:
        """Accept any common spelling, case-insensitively, or raise ValueError."""
        if isinstance(value, Service):
            return value
        if isinstance(value, str):
            key = re.sub(r"[\s_-]+", "_", value.strip().lower())
            if key in cls._value2member_map_:
                return cls(key)
        raise ValueError(
            f"{value!r} is not a service; use magic_transit, cdn or spectrum"
        )


_DISPLAY_NAMES = {
    Service.MAGIC_TRANSIT: "Magic Transit",
    Service.CDN: "CDN",
    Service.SPECTRUM: "Spectrum",
}

ALLOWED_OVERRIDES: dict[Service, frozenset[Service]] = {
    Service.MAGIC_TRANSIT: frozenset({Service.CDN, Service.SPECTRUM}),
    Service.CDN: frozenset({Service.SPECTRUM}),
    Service.SPECTRUM: frozenset({Service.CDN}),
}
"""The override services each default service allows (Cloudflare's rule 2)."""

_ID = re.compile(r"[0-9a-f]{32}")


def check_id(value: str, what: str = "id") -> str:
    """Return ``value`` if it is a 32-character lowercase hex id, else raise."""
    if _ID.fullmatch(value):
        return value
    if _ID.fullmatch(value.strip().lower()):
        raise ValueError(
            f"{value!r} is not a Cloudflare {what} as written; "
            f"write it as {value.strip().lower()}"
        )
    raise ValueError(
        f"{value!r} is not a Cloudflare {what}; ids are 32 lowercase hexadecimal "
        "characters, copy it from the dashboard or the API"
    )


def _normalise_cidr(value: str) -> str:
    """Canonical text of a valid CIDR; invalid ones are left to the rule checks."""
    try:
        return str(parse_cidr(value))
    except CidrError:
        return value


def _id_validator(what: str) -> AfterValidator:
    return AfterValidator(lambda value: check_id(value, what))


ServiceField = Annotated[
    Service,
    BeforeValidator(Service.parse),
    WithJsonSchema(
        {
            "type": "string",
            "description": "magic_transit, cdn or spectrum (any case; "
            "'magic-transit' and 'Magic Transit' are accepted)",
            "examples": ["magic_transit", "cdn", "spectrum"],
        }
    ),
]
CidrField = Annotated[
    str,
    AfterValidator(_normalise_cidr),
    Field(description="A CIDR network with host bits clear, IPv4 or IPv6"),
]

_MODEL_CONFIG = ConfigDict(
    extra="forbid",
    populate_by_name=True,
    alias_generator=to_camel,
    frozen=True,
    use_attribute_docstrings=True,
)


class _WithWarnings(BaseModel):
    _warnings: list[Problem] = PrivateAttr(default_factory=list)

    @property
    def warnings(self) -> list[Problem]:
        """Advice that does not block a deployment (aggregatable overrides)."""
        return self._warnings


class OverrideSpec(BaseModel):
    """A binding more specific than the prefix's default."""

    model_config = _MODEL_CONFIG

    cidr: CidrField
    """The addresses this override routes, strictly inside the prefix."""
    service: ServiceField
    """Where those addresses go: cdn or spectrum, never the default's service."""


class PrefixSpec(_WithWarnings):
    """One onboarded BYOIP prefix: a default service plus overrides."""

    model_config = _MODEL_CONFIG

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")]
    """A stable logical name, unique in the stack; it becomes part of URNs."""
    prefix_id: Annotated[str, _id_validator("prefix id")] | None = None
    """Cloudflare's id of the onboarded prefix (32 lowercase hex characters)."""
    cidr: CidrField
    """The whole prefix: IPv4 /24 or shorter, IPv6 /48 or shorter."""
    default_service: ServiceField
    """The service of the default binding, which covers the whole prefix."""
    cdn_egress: bool = False
    """The prefix serves Dedicated CDN Egress IPs, so it takes no CDN binding."""
    overrides: list[OverrideSpec] = Field(default_factory=list)
    """More specific bindings; none may overlap another."""


class StackSpec(_WithWarnings):
    """Everything under the ``byoip:`` namespace of one stack."""

    model_config = _MODEL_CONFIG

    account_id: Annotated[str, _id_validator("account id")]
    """The Cloudflare account that owns the prefixes."""
    prefixes: list[PrefixSpec] = Field(default_factory=list)
    """The prefixes whose bindings this stack manages."""
    max_retries: Annotated[int, Field(ge=0, le=10)] = 3
    """How many times an API call is retried after a 429, a 5xx or a timeout."""
    listing_cache_seconds: Annotated[int, Field(ge=0, le=300)] = 5
    """How long one List of a prefix's bindings serves refreshes in the provider."""
    adopt_existing: bool = True
    """Adopt a binding that already exists with the same CIDR and service."""
    wait_for_active: bool = False
    """Wait until each new binding is ``active`` (hours on real Cloudflare)."""
    allow_disruption: bool = False
    """Allow changes that delete and recreate a binding (4 to 6 hours' outage)."""
    protect_bindings: bool = False
    """Protect every binding against deletion by Pulumi."""
    retain_default_on_delete: bool = True
    """Leave the default binding at Cloudflare when the stack is destroyed."""


class Route(BaseModel):
    """One row of a routing table: a CIDR and the service its addresses reach."""

    model_config = ConfigDict(frozen=True)

    cidr: str
    service: Service
    addresses: int
    """How many addresses the CIDR holds."""


def validate_stack(config: Mapping[str, object]) -> StackSpec:
    """Check a stack's configuration and return it as a ``StackSpec``.

    ``config`` maps the stack file's keys, with or without the ``byoip:``
    namespace, to their values; keys of other namespaces are ignored. Raises
    ``SpecError`` listing every problem found.
    """
    data: dict[str, object] = {}
    for key, value in config.items():
        namespace, colon, name = str(key).rpartition(":")
        if colon and namespace != NAMESPACE:
            continue
        data[name] = _decode(value) if name == "prefixes" else value

    checker = _Checker()
    checker.check_stack(data)
    spec = checker.build(StackSpec, data, f"{NAMESPACE}:")
    spec._warnings.extend(checker.warnings)
    return spec


def validate_prefix(data: Mapping[str, object], path: str = "prefix") -> PrefixSpec:
    """Check one prefix description (as the component receives it).

    Keys may be camelCase or snake_case; overrides may be mappings or
    ``OverrideSpec``. Raises ``SpecError`` naming paths under ``path``.
    """
    plain = _plain(data)
    checker = _Checker()
    checker.check_prefix(plain, path)
    spec = checker.build(PrefixSpec, plain, f"{path}.")
    spec._warnings.extend(checker.warnings)
    return spec


def routing_table(prefix: PrefixSpec) -> list[Route]:
    """The service of every address of a valid prefix, as the fewest CIDRs.

    Rows are sorted, leave no gap, and adjacent addresses of one service are
    collapsed; the default service fills whatever the overrides leave.
    """
    whole = parse_cidr(prefix.cidr)
    overrides = sorted(
        (net.start, net.end, o.service)
        for o in prefix.overrides
        for net in (parse_cidr(o.cidr),)
    )
    segments: list[list[Any]] = []

    def add(start: int, end: int, service: Service) -> None:
        if segments and segments[-1][2] is service and segments[-1][1] + 1 == start:
            segments[-1][1] = end
        else:
            segments.append([start, end, service])

    position = whole.start
    for start, end, service in overrides:
        if start > position:
            add(position, start - 1, prefix.default_service)
        add(start, end, service)
        position = end + 1
    if position <= whole.end:
        add(position, whole.end, prefix.default_service)

    return [
        Route(cidr=str(net), service=service, addresses=net.size)
        for start, end, service in segments
        for net in range_to_nets(whole.version, start, end)
    ]


def _decode(value: object) -> object:
    """Structured config values arrive as JSON text from Pulumi's configure."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump()
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _get(raw: Mapping[str, Any], field: str) -> Any:
    """A field by its snake_case name, written either way by the user."""
    camel = to_camel(field)
    return raw[camel] if camel in raw else raw.get(field)


def _service_or_none(value: object) -> Service | None:
    try:
        return Service.parse(value)
    except ValueError:
        return None


def _indices(items: Iterable[int], limit: int = 3) -> str:
    listed = list(items)
    text = ", ".join(f"overrides[{i}]" for i in listed[:limit])
    if len(listed) > limit:
        text += f" and {len(listed) - limit} more"
    return text


class _Checker:
    """Collects the problems and warnings of one configuration."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []

    def build(self, model: type[_M], data: object, root: str) -> _M:
        """Validate the shape with pydantic; raise with every problem found."""
        try:
            spec = model.model_validate(data)
        except ValidationError as error:
            shape = [_describe(root, item) for item in error.errors()]
            known = {path for path, _ in self.problems}
            self.problems.extend(p for p in shape if p[0] not in known)
            raise SpecError(_sorted(self.problems)) from None
        if self.problems:
            raise SpecError(_sorted(self.problems))
        return spec

    def check_stack(self, data: Mapping[str, Any]) -> None:
        prefixes = data.get("prefixes")
        if not isinstance(prefixes, list):
            return
        seen_names: dict[str, int] = {}
        seen_ids: dict[str, int] = {}
        nets: list[tuple[int, int, int, Net]] = []
        for i, raw in enumerate(prefixes):
            if not isinstance(raw, Mapping):
                continue
            path = f"{NAMESPACE}:prefixes[{i}]"
            if "prefixId" not in raw and "prefix_id" not in raw:
                self.problems.append(
                    (
                        f"{path}.prefixId",
                        "is required; add the id of the onboarded prefix "
                        "(32 lowercase hex characters, from the dashboard or "
                        "the List Prefixes call)",
                    )
                )
            self._unique(seen_names, _get(raw, "name"), i, f"{path}.name", "name")
            self._unique(
                seen_ids, _get(raw, "prefix_id"), i, f"{path}.prefixId", "prefix id"
            )
            net = self.check_prefix(raw, path)
            if net is not None:
                nets.append((net.version, net.start, i, net))

        nets.sort(key=lambda item: item[:3])
        cover: tuple[int, Net] | None = None
        for _, _, j, net in nets:
            if cover is not None and cover[1].overlaps(net):
                self.problems.append(
                    (
                        f"{NAMESPACE}:prefixes[{j}].cidr",
                        f"{net} overlaps prefixes[{cover[0]}] ({cover[1]}); a "
                        "stack's prefixes must be distinct, so describe each "
                        "prefix once",
                    )
                )
            else:
                cover = (j, net)

    def _unique(
        self, seen: dict[str, int], value: object, index: int, path: str, what: str
    ) -> None:
        if not isinstance(value, str):
            return
        if value in seen:
            self.problems.append(
                (
                    path,
                    f"{value!r} is already the {what} of prefixes[{seen[value]}]; "
                    f"each prefix needs its own {what}",
                )
            )
        else:
            seen[value] = index

    def check_prefix(self, raw: Mapping[str, Any], path: str) -> Net | None:
        """Check one prefix's own rules; return its network if it parsed."""
        net = self._cidr(_get(raw, "cidr"), f"{path}.cidr")
        if net is not None and net.prefixlen > SMALLEST_PREFIX[net.version]:
            longest = SMALLEST_PREFIX[net.version]
            self.problems.append(
                (
                    f"{path}.cidr",
                    f"{net} is longer than /{longest}; Cloudflare's smallest "
                    f"IPv{net.version} BYOIP prefix is a /{longest}, so give the "
                    "whole onboarded prefix and bind the range as an override",
                )
            )
            net = None

        default = _service_or_none(_get(raw, "default_service"))
        egress = _get(raw, "cdn_egress") is True
        if egress and default is Service.CDN:
            self.problems.append(
                (
                    f"{path}.defaultService",
                    "'cdn' cannot be bound on a prefix with cdnEgress: true; a "
                    "prefix serves CDN ingress or CDN egress, not both, so choose "
                    "magic_transit or spectrum, or set cdnEgress: false",
                )
            )

        overrides = _get(raw, "overrides")
        if isinstance(overrides, list):
            self._overrides(overrides, path, net, default, egress)
        return net

    def _cidr(self, value: object, path: str) -> Net | None:
        if not isinstance(value, str):
            return None
        try:
            return parse_cidr(value)
        except CidrError as error:
            self.problems.append((path, str(error)))
            return None

    def _overrides(
        self,
        overrides: list[Any],
        path: str,
        prefix: Net | None,
        default: Service | None,
        egress: bool,
    ) -> None:
        parsed: list[tuple[int, int, int, Service | None, Net]] = []
        for j, raw in enumerate(overrides):
            if not isinstance(raw, Mapping):
                continue
            here = f"{path}.overrides[{j}]"
            service = _service_or_none(raw.get("service"))
            net = self._cidr(raw.get("cidr"), f"{here}.cidr")
            if (
                net is not None
                and prefix is not None
                and not (prefix.contains(net) and net.prefixlen > prefix.prefixlen)
            ):
                self.problems.append(
                    (
                        f"{here}.cidr",
                        f"{net} is not strictly inside the prefix {prefix}; an "
                        "override binds part of its own prefix, so use a "
                        "longer CIDR inside it or move it to its own prefix",
                    )
                )
                net = None
            if net is not None:
                parsed.append((net.start, net.prefixlen, j, service, net))
            self._override_service(service, f"{here}.service", net, default, egress)

        parsed.sort(key=lambda item: item[:3])
        self._overlaps(parsed, path)
        self._aggregates(parsed, path)

    def _override_service(
        self,
        service: Service | None,
        path: str,
        net: Net | None,
        default: Service | None,
        egress: bool,
    ) -> None:
        where = str(net) if net is not None else "this range"
        if service is Service.MAGIC_TRANSIT:
            message = (
                "Magic Transit can only be a prefix's default binding; "
                f"bind {where} to cdn or spectrum instead"
            )
        elif service is not None and service is default:
            other = next(iter(ALLOWED_OVERRIDES[service] - {Service.MAGIC_TRANSIT}))
            message = (
                f"{service.value!r} repeats the default service; the default "
                f"binding already routes {where} there, so remove this override "
                f"(or bind it to {other.value})"
            )
        elif service is Service.CDN and egress:
            message = (
                "'cdn' cannot be bound on a prefix with cdnEgress: true; a prefix "
                "serves CDN ingress or CDN egress, not both, so bind "
                f"{where} to spectrum or set cdnEgress: false"
            )
        else:
            return
        self.problems.append((path, message))

    def _overlaps(
        self, parsed: list[tuple[int, int, int, Service | None, Net]], path: str
    ) -> None:
        cover: tuple[int, Net] | None = None
        for _, _, j, _, net in parsed:
            if cover is not None and net.start <= cover[1].end:
                i, outer = cover
                relation = "repeats" if outer == net else "lies inside"
                self.problems.append(
                    (
                        f"{path}.overrides[{j}].cidr",
                        f"{net} {relation} overrides[{i}] ({outer}); an address is "
                        "bound to one service only, so remove one of them or "
                        "split the larger around the smaller",
                    )
                )
            else:
                cover = (j, net)

    def _aggregates(
        self, parsed: list[tuple[int, int, int, Service | None, Net]], path: str
    ) -> None:
        """Warn where adjacent overrides of one service fit in fewer CIDRs."""
        by_service: dict[Service, list[tuple[Net, int]]] = {}
        for _, _, j, service, net in parsed:
            if service is not None:
                by_service.setdefault(service, []).append((net, j))

        for service, items in by_service.items():
            run: list[tuple[Net, int]] = []
            for item in [*items, None]:
                if item is not None and run and item[0].start == run[-1][0].end + 1:
                    run.append(item)
                    continue
                if len(run) > 1:
                    self._warn_run(run, service, path)
                run = [item] if item is not None else []

    def _warn_run(
        self, run: list[tuple[Net, int]], service: Service, path: str
    ) -> None:
        first = run[0][0]
        position = 0
        for aggregate in range_to_nets(first.version, first.start, run[-1][0].end):
            inside: list[int] = []
            while position < len(run) and run[position][0].end <= aggregate.end:
                inside.append(run[position][1])
                position += 1
            if len(inside) > 1:
                self.warnings.append(
                    (
                        f"{path}.overrides",
                        f"{_indices(inside)} ({len(inside)} {service.value} "
                        f"overrides) can be one binding, {aggregate}; Cloudflare "
                        "recommends aggregated CIDR blocks over many discrete "
                        "bindings",
                    )
                )


_KNOWN_KEYS = sorted(
    {
        to_camel(name)
        for model in (StackSpec, PrefixSpec, OverrideSpec)
        for name in model.model_fields
    }
)


def _describe(root: str, error: Mapping[str, Any]) -> Problem:
    """Turn one pydantic error into a config path and a sentence."""
    path = _join_path(root, error["loc"])

    kind = error["type"]
    value = error.get("input")
    if kind == "missing":
        return path, "is required; add it"
    if kind == "extra_forbidden":
        key = str(error["loc"][-1])
        close = difflib.get_close_matches(key, _KNOWN_KEYS, n=1)
        fix = f"did you mean {close[0]!r}?" if close else "remove it"
        return (
            path,
            f"{key!r} is not a known key; {fix} (see the configuration reference)",
        )
    message = str(error["msg"]).removeprefix("Value error, ")
    if message.startswith(repr(value)) or kind == "value_error":
        return path, message
    return path, f"{value!r}: {message[0].lower()}{message[1:]}"


def _join_path(root: str, loc: Sequence[int | str]) -> str:
    path = root
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif path.endswith((":", ".")) or not path:
            path += part
        else:
            path += f".{part}"
    return path.rstrip(".:")


def _sorted(problems: list[Problem]) -> list[Problem]:
    """Problems in the order of the file: by path, list indices numerically."""

    def key(problem: Problem) -> list[Any]:
        return [
            (0, int(part), "") if part.isdigit() else (1, 0, part)
            for part in re.split(r"[\[\].]+", problem[0])
            if part
        ]

    return sorted(problems, key=key)
