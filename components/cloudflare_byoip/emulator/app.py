"""HTTP layer of the emulator: routes, Cloudflare's envelope, auth and faults."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from cloudflare_byoip.emulator import exceptions
from cloudflare_byoip.emulator.exceptions import ApiError
from cloudflare_byoip.emulator.faults import Faults
from cloudflare_byoip.emulator.models import Emulator

API_ROOT = "/client/v4"
"""Path under which the Cloudflare API is served, as on api.cloudflare.com."""

STATE_PATH = "/__emulator/state"
"""Read-only view of the whole state, for tests; needs no token."""

MAX_BODY_BYTES = 64 * 1024
"""Request bodies above this size are answered 413."""

logger = logging.getLogger("cloudflare_byoip.emulator")

Handler = Callable[["Call"], Awaitable[Response]]


@dataclass
class Call:
    """One API request after routing: path parameters and the raw body."""

    params: dict[str, str]
    """Path parameters by name (account_id, prefix_id, binding_id)."""
    body: bytes
    """The request body, at most MAX_BODY_BYTES long."""


def envelope(result: Any = None, *, with_result: bool = True) -> dict[str, Any]:
    """Return a success envelope; delete answers carry no `result`."""
    body: dict[str, Any] = {"success": True, "errors": [], "messages": []}
    if with_result:
        body["result"] = result
    return body


def error_response(error: ApiError, headers: dict[str, str] | None = None) -> Response:
    """Return an error answer in Cloudflare's envelope."""
    body = {
        "success": False,
        "errors": [error.to_error()],
        "messages": [],
        "result": None,
    }
    return JSONResponse(body, status_code=error.status, headers=headers)


class EmulatorApp:
    """ASGI app serving the emulated Addressing API over an `Emulator` model.

    Per `/client/v4` request, in order: added latency, the rate limit, random
    5xx, routing (404 code 7000, 405 code 7001), authentication, the body size
    limit (413), then the model. Every answer, errors included, is an envelope.
    """

    def __init__(self, emulator: Emulator, faults: Faults | None = None) -> None:
        self.emulator = emulator
        """The model holding state and rules."""
        self.faults = faults if faults is not None else Faults()
        """Faults consulted on every API request; mutable at runtime."""
        self._routes: list[tuple[re.Pattern[str], dict[str, Handler]]] = [
            (
                _route("/accounts/{account_id}/addressing/services"),
                {"GET": self._services},
            ),
            (
                _route("/accounts/{account_id}/addressing/prefixes"),
                {"GET": self._prefixes},
            ),
            (
                _route("/accounts/{account_id}/addressing/prefixes/{prefix_id}"),
                {"GET": self._prefix},
            ),
            (
                _route(
                    "/accounts/{account_id}/addressing/prefixes/{prefix_id}/bindings"
                ),
                {"GET": self._bindings, "POST": self._create_binding},
            ),
            (
                _route(
                    "/accounts/{account_id}/addressing/prefixes/{prefix_id}"
                    "/bindings/{binding_id}"
                ),
                {"GET": self._binding, "DELETE": self._delete_binding},
            ),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        started = time.perf_counter()
        try:
            response = await self._answer(request)
        except Exception:
            logger.exception("unexpected error on %s %s", request.method, scope["path"])
            response = error_response(
                ApiError(500, exceptions.INTERNAL_ERROR, "Internal emulator error.")
            )
        elapsed_ms = (time.perf_counter() - started) * 1000
        logger.info(
            "%s %s %d %.1fms",
            request.method,
            scope["path"],
            response.status_code,
            elapsed_ms,
        )
        await response(scope, receive, send)

    async def _answer(self, request: Request) -> Response:
        path: str = request.scope["path"]
        if path == STATE_PATH:
            if request.method != "GET":
                return _method_not_allowed(path)
            return JSONResponse(self.emulator.snapshot())
        if path != API_ROOT and not path.startswith(API_ROOT + "/"):
            return _no_route(path)
        return await self._api(request, path.removeprefix(API_ROOT))

    async def _api(self, request: Request, path: str) -> Response:
        faults = self.faults
        if faults.latency_ms > 0:
            await asyncio.sleep(faults.latency_ms / 1000)

        headers: dict[str, str] = {}
        verdict = faults.check_rate_limit()
        if verdict is not None and faults.rate_limit is not None:
            reset = math.ceil(verdict.reset_seconds)
            headers["Ratelimit"] = f'"default";r={verdict.remaining};t={reset}'
            headers["Ratelimit-Policy"] = (
                f'"default";q={faults.rate_limit};w={math.ceil(faults.rate_limit_window)}'
            )
            if verdict.limited:
                headers["Retry-After"] = str(max(1, reset))
                return error_response(
                    ApiError(
                        429,
                        exceptions.RATE_LIMITED,
                        "Please wait and consider throttling your request speed.",
                    ),
                    headers,
                )

        status = faults.roll_failure()
        if status is not None:
            return self._fault(status, headers)

        response = await self._dispatch(request, path)
        response.headers.update(headers)
        return response

    async def _dispatch(self, request: Request, path: str) -> Response:
        for pattern, methods in self._routes:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            handler = methods.get(request.method)
            if handler is None:
                return _method_not_allowed(API_ROOT + path)
            try:
                self.emulator.authenticate(request.headers.get("authorization"))
                body = await _read_body(request)
                return await handler(Call(match.groupdict(), body))
            except ApiError as error:
                return error_response(error)
        return _no_route(API_ROOT + path)

    def _fault(self, status: int, headers: dict[str, str]) -> Response:
        answer_headers = dict(headers)
        if self.faults.fail_retry_after is not None:
            answer_headers["Retry-After"] = f"{self.faults.fail_retry_after:g}"
        return error_response(
            ApiError(
                status,
                exceptions.INTERNAL_ERROR,
                f"Injected fault: HTTP {status}; retry the request.",
            ),
            answer_headers,
        )

    # Handlers

    async def _services(self, call: Call) -> Response:
        return JSONResponse(envelope(self.emulator.list_services(**call.params)))

    async def _prefixes(self, call: Call) -> Response:
        return JSONResponse(envelope(self.emulator.list_prefixes(**call.params)))

    async def _prefix(self, call: Call) -> Response:
        return JSONResponse(envelope(self.emulator.get_prefix(**call.params)))

    async def _bindings(self, call: Call) -> Response:
        return JSONResponse(envelope(self.emulator.list_bindings(**call.params)))

    async def _binding(self, call: Call) -> Response:
        return JSONResponse(envelope(self.emulator.get_binding(**call.params)))

    async def _create_binding(self, call: Call) -> Response:
        cidr, service_id = _create_fields(call.body)
        result = self.emulator.create_binding(
            call.params["account_id"], call.params["prefix_id"], cidr, service_id
        )
        if self.faults.take_fail_after_create():
            return self._fault(500, {})
        return JSONResponse(envelope(result))

    async def _delete_binding(self, call: Call) -> Response:
        self.emulator.delete_binding(**call.params)
        return JSONResponse(envelope(with_result=False))


def create_app(emulator: Emulator, faults: Faults | None = None) -> EmulatorApp:
    """Return the ASGI app serving `emulator`, consulting `faults` per request."""
    return EmulatorApp(emulator, faults)


def _route(template: str) -> re.Pattern[str]:
    """Compile a path template; each `{name}` matches one non-empty segment."""
    return re.compile(re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template))


def _no_route(path: str) -> Response:
    return error_response(
        ApiError(
            404,
            exceptions.NO_ROUTE,
            f"No route for that URI: {path[:200]}; see the Addressing API reference.",
        )
    )


def _method_not_allowed(path: str) -> Response:
    return error_response(
        ApiError(
            405,
            exceptions.METHOD_NOT_ALLOWED,
            f"Method not allowed for {path[:200]}; see the Addressing API reference.",
        )
    )


async def _read_body(request: Request) -> bytes:
    """Read the body, refusing more than MAX_BODY_BYTES with 413."""
    too_large = ApiError(
        413,
        exceptions.BODY_TOO_LARGE,
        f"Request body is larger than {MAX_BODY_BYTES} bytes; send a smaller body.",
    )
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_BODY_BYTES:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise too_large
            chunks.append(chunk)
    except ClientDisconnect:
        raise ApiError(400, exceptions.MALFORMED_JSON, "Client disconnected.") from None
    return b"".join(chunks)


def _create_fields(body: bytes) -> tuple[str, str]:
    """Parse a create body into (cidr, service_id), or raise the API's 400."""
    try:
        data = json.loads(body) if body.strip() else {}
    except (ValueError, UnicodeDecodeError):
        raise ApiError(
            400,
            exceptions.MALFORMED_JSON,
            'Malformed JSON in request body; send {"cidr": ..., "service_id": ...}.',
        ) from None
    if not isinstance(data, dict):
        raise exceptions.unsupported_binding(
            'the request body must be a JSON object {"cidr": ..., "service_id": ...}.'
        )
    fields = []
    for name in ("cidr", "service_id"):
        value = data.get(name)
        if not isinstance(value, str):
            raise exceptions.unsupported_binding(
                f"{name} is required and must be a string."
            )
        fields.append(value)
    return fields[0], fields[1]


async def _lifespan(receive: Receive, send: Send) -> None:
    """Answer ASGI lifespan events; the app needs no startup work."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
