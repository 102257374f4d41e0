"""Cloudflare API errors raised by the emulator's model, with HTTP status and code."""

from __future__ import annotations

from typing import Any

PREFIX_NOT_FOUND = 1000
"""Cloudflare's code for an IP prefix that does not exist in the account."""

BINDING_NOT_FOUND = 1002
"""Cloudflare's code for a service binding that does not exist on the prefix."""

UNSUPPORTED_BINDING = 1003
"""Cloudflare's code for a binding the API refuses (bad CIDR, service or layout)."""

MALFORMED_JSON = 6007
"""Cloudflare's code for a request body that is not valid JSON."""

NO_ROUTE = 7000
"""Cloudflare's code for a path that matches no endpoint."""

METHOD_NOT_ALLOWED = 7001
"""Cloudflare's code for a method the endpoint does not serve."""

COULD_NOT_ROUTE = 7003
"""Cloudflare's code for a path whose object identifier is malformed."""

AUTHENTICATION_ERROR = 10000
"""Cloudflare's code for a missing, malformed or unknown API token."""

RATE_LIMITED = 971
"""Cloudflare's code on a 429 answer ("Please wait and consider throttling")."""

INTERNAL_ERROR = 10001
"""Emulator's code for a fault-injected 5xx answer (not a Cloudflare code)."""

BODY_TOO_LARGE = 10413
"""Emulator's code for a request body over the size limit (not a Cloudflare code)."""


class ApiError(Exception):
    """An error answer of the Cloudflare API: HTTP status, error code and message."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(f"{status} [{code}] {message}")
        self.status = status
        """HTTP status code of the answer."""
        self.code = code
        """Cloudflare error code, carried in `errors[0].code` of the envelope."""
        self.message = message
        """Human-readable message, carried in `errors[0].message`."""

    def to_error(self) -> dict[str, Any]:
        """Return the error as one entry of the envelope's `errors` list."""
        return {"code": self.code, "message": self.message}


def prefix_not_found(prefix_id: str) -> ApiError:
    """Return the 404 answer for an unknown prefix."""
    return ApiError(
        404,
        PREFIX_NOT_FOUND,
        f"Prefix {prefix_id} not found; list the account's prefixes for valid ids.",
    )


def binding_not_found(binding_id: str) -> ApiError:
    """Return the 404 answer for an unknown binding."""
    return ApiError(
        404,
        BINDING_NOT_FOUND,
        f"Service binding {binding_id} not found on this prefix; "
        "list the prefix's bindings for valid ids.",
    )


def unsupported_binding(reason: str) -> ApiError:
    """Return the 400 answer for a binding configuration the API refuses."""
    return ApiError(
        400, UNSUPPORTED_BINDING, f"Unsupported binding configuration: {reason}"
    )


def could_not_route(path: str) -> ApiError:
    """Return the 400 answer for a malformed object identifier in the path."""
    return ApiError(
        400,
        COULD_NOT_ROUTE,
        f"Could not route to {path}, perhaps your object identifier is invalid? "
        "Ids are 32 lowercase hex characters.",
    )


def authentication_error(status: int, detail: str) -> ApiError:
    """Return the 401/403 answer for a request the token does not authorise."""
    return ApiError(status, AUTHENTICATION_ERROR, f"Authentication error: {detail}")
