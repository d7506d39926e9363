"""The contract's JSON errors: ``{"error": {"code": "<snake_case>", "message": "..."}}``.

Handlers raise :class:`ApiError` (or let a core :class:`~tidings.core.errors.InvalidInput`
escape); the exception handlers registered by the app factory turn both into the JSON shape with
a 4xx status. A 5xx is always a bug, so the catch-all handler logs the traceback and still
answers in the same shape, never with an HTML page.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from tidings.core.errors import InvalidInput

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
}


class ApiError(Exception):
    """An error answered to the client with ``status`` and the contract's JSON body.

    ``errors`` (``[{"path", "message"}]``) lists every problem when a body has more than one; the
    envelope's ``message`` still names the first, so a client reading only it loses nothing.
    """

    def __init__(
        self, status: int, code: str, message: str, errors: list[dict[str, str]] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors


def bad_request(field: str, reason: str, code: str = "invalid_request") -> ApiError:
    """A 400 whose message starts with the offending field's path."""
    return ApiError(400, code, f"{field}: {reason}" if field else reason)


def error_body(code: str, message: str, errors: list[dict[str, str]] | None = None) -> bytes:
    error: dict[str, Any] = {"code": code, "message": message}
    if errors is not None:
        error["errors"] = errors
    return orjson.dumps({"error": error})


def json_response(
    content: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A JSON response serialised with orjson (the hot path never touches ``json``)."""
    return Response(
        orjson.dumps(content), status_code=status, headers=headers, media_type="application/json"
    )


def error_response(
    status: int,
    code: str,
    message: str,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    return Response(
        error_body(code, message, errors),
        status_code=status,
        headers=headers,
        media_type="application/json",
    )


RETRY_AFTER_SECONDS = 5
"""``Retry-After`` of a 503: the least a client waits before it tries again."""


def unavailable_response(message: str, code: str = "store_unavailable") -> Response:
    """503 with ``Retry-After``: the server cannot serve this now, the same request may work
    later (clients keep the request, with its request id, and retry)."""
    return error_response(503, code, message, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


async def handle_api_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message, exc.errors)


def invalid_input(errors: Sequence[InvalidInput], code: str) -> ApiError:
    """A 400 listing every problem of a body; ``message`` is the first and how many follow."""
    first = str(errors[0])
    more = len(errors) - 1
    message = f"{first} (and {more} more problem{'s' if more != 1 else ''})" if more else first
    listed = [{"path": e.field, "message": e.reason} for e in errors]
    return ApiError(400, code, message, listed)


async def handle_invalid_input(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, InvalidInput)
    return error_response(
        400, "invalid_" + _snake(type(exc).__name__.removeprefix("Invalid")), str(exc)
    )


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _STATUS_CODES.get(exc.status_code, "http_error")
    if exc.status_code == 404:
        message = f"path: no endpoint at {request.url.path}"
    elif exc.status_code == 405:
        message = f"method: {request.method} is not allowed on {request.url.path}"
    else:
        message = str(exc.detail)
    response = error_response(exc.status_code, code, message)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


def _snake(name: str) -> str:
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i:
            out.append("_")
        out.append(ch.lower())
    return "".join(out) or "input"
