"""The device endpoints for public clients: uploads and config fetches without a secret.

``POST /api/v1/public/session?apiKey=...&requestId=...`` takes the same body as the signed
``/api/v1/session`` and answers the same way (a repeated request id gets the first answer);
``GET /api/v1/public/config?apiKey=...&deviceId=...`` is the manifest with ETag / 304. Both
answer CORS preflights. The key rides in the query string and the upload body may be
``text/plain``, so a browser sends an upload as a CORS "simple" request: no preflight, and it
may be sent with ``keepalive`` while the page is being hidden.

Order of work, cheapest refusal first: the key (403), the app's public-client setting and the
request's ``Origin`` (403, answered without CORS headers so the page learns nothing), the
client address's rate limit (429), the body under the size limit (413), the device's rate
limit (429), then the same validation and storage as a signed upload.
"""

from __future__ import annotations

import hashlib
import math
import re
from typing import Final

from starlette.requests import Request
from starlette.responses import Response

from tidings.server.body import (
    NUL_ESCAPE,
    decode_content,
    off_loop,
    parse_json_object,
    read_raw_body,
)
from tidings.server.config import manifest_response
from tidings.server.errors import ApiError, error_response
from tidings.server.ingest import store_upload
from tidings.server.openapi import RouteDoc
from tidings.server.public_clients import PublicClients, PublicClientSettings, public_clients
from tidings.server.ratelimit import RateLimiter
from tidings.server.state import server_state, store_of
from tidings.server.upload import Upload, parse_upload
from tidings.storage import SigningKey

SESSION_PATH: Final = "/api/v1/public/session"
CONFIG_PATH: Final = "/api/v1/public/config"
ALLOW_HEADERS: Final = "Content-Type, X-Api-Key, X-Request-Id, If-None-Match"
EXPOSE_HEADERS: Final = "ETag, X-Server-Time, Retry-After, X-Idempotent-Replay"
PREFLIGHT_MAX_AGE: Final = "600"
MAX_KEY_LENGTH: Final = 256
_UUID: Final = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


class _Allowed:
    """A request whose key and origin passed: the key, the app's setting, its origin."""

    __slots__ = ("key", "origin", "settings")

    def __init__(self, key: SigningKey, settings: PublicClientSettings, origin: str | None) -> None:
        self.key = key
        self.settings = settings
        self.origin = origin

    def cors(self, response: Response) -> Response:
        if self.origin is not None:
            response.headers["Access-Control-Allow-Origin"] = self.origin
            response.headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
        response.headers["Vary"] = "Origin"
        return response


async def _allowed(request: Request) -> _Allowed:
    """The key (query ``apiKey`` or ``X-Api-Key``) and the origin, checked; 403 otherwise."""
    api_key = request.query_params.get("apiKey") or request.headers.get("x-api-key", "")
    api_key = api_key.strip()
    if not api_key:
        raise ApiError(403, "missing_credentials", "apiKey: the app's publishable key is required")
    if len(api_key) > MAX_KEY_LENGTH or not api_key.isprintable():
        raise ApiError(403, "invalid_api_key", "apiKey: unknown or revoked key")
    store = store_of(request)
    key = await store.signing_key(api_key)
    if key is None:
        raise ApiError(403, "invalid_api_key", "apiKey: unknown or revoked key")
    settings = await public_clients(request).settings_for(store, key.app_id)
    if not settings.enabled:
        raise ApiError(
            403,
            "public_clients_disabled",
            "apiKey: this app does not accept public clients (see its public-client setting)",
        )
    origin = request.headers.get("origin")
    if not settings.allows(origin):
        server_state(request).metrics.count("public", "request", "origin_refused")
        shown = "no Origin header" if origin is None else f"origin {origin!r}"
        raise ApiError(403, "origin_not_allowed", f"Origin: {shown} is not allowed for this app")
    return _Allowed(key, settings, origin)


def _limit(request: Request, limiter: RateLimiter, key: str, per_minute: int, who: str) -> None:
    """429 when ``key`` (a client address or a device) is over its rate."""
    wait = limiter.admit(key, per_minute, server_state(request).settings.clock())
    if wait is not None:
        server_state(request).metrics.count("public", "request", "rate_limited")
        raise _RateLimited(math.ceil(wait), who)


def _limit_address(request: Request, clients: PublicClients, allowed: _Allowed) -> None:
    address = request.client.host if request.client is not None else "unknown"
    _limit(request, clients.addresses, address, allowed.settings.address_per_minute, "this address")


def _limit_device(
    request: Request, clients: PublicClients, allowed: _Allowed, device: str | None
) -> None:
    if device:
        key = f"{allowed.key.app_id}\n{device}"
        _limit(request, clients.devices, key, allowed.settings.device_per_minute, "this device")


class _RateLimited(ApiError):
    def __init__(self, retry_after: int, who: str) -> None:
        super().__init__(
            429, "rate_limited", f"too many requests from {who}; retry after {retry_after} s"
        )
        self.retry_after = max(1, retry_after)


def _error(allowed: _Allowed, exc: ApiError) -> Response:
    response = error_response(exc.status, exc.code, exc.message)
    if isinstance(exc, _RateLimited):
        response.headers["Retry-After"] = str(exc.retry_after)
    return allowed.cors(response)


async def preflight(request: Request) -> Response:
    """``OPTIONS``: 204 with the CORS headers for an allowed origin, 403 (without them) else."""
    allowed = await _allowed(request)
    response = Response(status_code=204)
    response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
    response.headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
    response.headers["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
    return allowed.cors(response)


def _request_id(request: Request) -> str:
    value = (
        request.query_params.get("requestId") or request.headers.get("x-request-id", "")
    ).strip()
    if not value:
        raise ApiError(409, "missing_request_id", "requestId: is required (a UUID)")
    if not _UUID.match(value):
        raise ApiError(409, "invalid_request_id", "requestId: must be a UUID")
    return value.lower()


async def public_session(request: Request) -> Response:
    """``POST /api/v1/public/session``: a signed upload's body and answer, without a secret."""
    allowed = await _allowed(request)
    clients = public_clients(request)
    settings = server_state(request).settings
    try:
        _limit_address(request, clients, allowed)
        request_id = _request_id(request)
        raw = await read_raw_body(request, settings.max_body_bytes)
        window = settings.time_window()

        def parse() -> Upload:
            data = decode_content(request, raw, settings.max_body_bytes)
            body = parse_json_object(data, check_nul=False, check_depth=False)
            return parse_upload(
                body,
                allowed.key.app_id,
                settings.max_events,
                window=window,
                max_decisions=settings.max_decisions,
                max_sessions=settings.max_sessions,
                has_nul=NUL_ESCAPE in data,
            )

        upload = await off_loop(request, raw, parse)
        _limit_device(request, clients, allowed, str(upload.device["deviceId"]))
        # Unsigned: the body's own digest binds the request id to it.
        digest = hashlib.sha256(raw).digest()
        response = await store_upload(request, allowed.key, request_id, upload, digest)
    except ApiError as exc:
        return _error(allowed, exc)
    return allowed.cors(response)


async def public_config(request: Request) -> Response:
    """``GET /api/v1/public/config``: the manifest (ETag / 304) for a public client."""
    allowed = await _allowed(request)
    try:
        clients = public_clients(request)
        _limit_address(request, clients, allowed)
        _limit_device(request, clients, allowed, request.query_params.get("deviceId"))
        response = await manifest_response(request, allowed.key)
    except ApiError as exc:
        return _error(allowed, exc)
    return allowed.cors(response)


ROUTES = [
    (
        RouteDoc(
            "POST",
            SESSION_PATH,
            "Upload without a secret (public clients)",
            "device",
            "apiKey",
            True,
        ),
        public_session,
    ),
    (RouteDoc("OPTIONS", SESSION_PATH, "CORS preflight", "device"), preflight),
    (
        RouteDoc("GET", CONFIG_PATH, "Config manifest for public clients", "device", "apiKey"),
        public_config,
    ),
    (RouteDoc("OPTIONS", CONFIG_PATH, "CORS preflight", "device"), preflight),
]
