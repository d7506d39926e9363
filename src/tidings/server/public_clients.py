"""Public clients: apps whose code runs where a secret cannot be kept (web pages, React Native).

An app's public-client setting lets its publishable key (``apiKeyPublic``) upload events and
fetch the configuration without a signature, from the origins it lists, within per-device and
per-address rate limits (docs/sdk-js.md, "Threat model"). The setting is a small document per
app, read through a short-lived cache so the device endpoints do not query the store for it on
every request; a change made through this process takes effect at once, one made by another
process within ``CACHE_SECONDS``.

``GET/PUT /admin/api/apps/{appId}/public-client`` read and replace it.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from tidings.core.events import json_type
from tidings.server.admin import _body, app_in_scope
from tidings.server.admin_access import admin_access
from tidings.server.errors import bad_request, json_response
from tidings.server.openapi import admin_route
from tidings.server.ratelimit import RateLimiter
from tidings.server.validate import integer, reject_unknown
from tidings.storage import Store

COLLECTION: Final = "public_clients"
CACHE_SECONDS: Final = 5.0
MAX_ORIGINS: Final = 100
DEFAULT_DEVICE_PER_MINUTE: Final = 120
DEFAULT_ADDRESS_PER_MINUTE: Final = 1200
_ORIGIN = re.compile(r"^https?://(\*\.)?[A-Za-z0-9.-]+(:[0-9]{1,5})?$")
_FIELDS: Final = (
    "enabled",
    "allowedOrigins",
    "allowMissingOrigin",
    "deviceRequestsPerMinute",
    "addressRequestsPerMinute",
)


@dataclass(frozen=True, slots=True)
class PublicClientSettings:
    """An app's public-client setting; the default is off."""

    enabled: bool = False
    allowed_origins: tuple[str, ...] = ()
    allow_missing_origin: bool = False
    device_per_minute: int = DEFAULT_DEVICE_PER_MINUTE
    address_per_minute: int = DEFAULT_ADDRESS_PER_MINUTE

    def to_json(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "allowedOrigins": list(self.allowed_origins),
            "allowMissingOrigin": self.allow_missing_origin,
            "deviceRequestsPerMinute": self.device_per_minute,
            "addressRequestsPerMinute": self.address_per_minute,
        }

    def allows(self, origin: str | None) -> bool:
        """Whether a request from ``origin`` (``None``: no ``Origin`` header) may use the key."""
        if not self.enabled:
            return False
        if origin is None:
            return self.allow_missing_origin
        return any(origin_matches(pattern, origin) for pattern in self.allowed_origins)


def origin_matches(pattern: str, origin: str) -> bool:
    """Exact origins, or ``scheme://*.domain[:port]`` for any subdomain (not the domain itself)."""
    if "*." not in pattern:
        return origin == pattern
    scheme, _, rest = pattern.partition("://*.")
    parts = urlsplit(origin)
    if parts.scheme != scheme or not parts.hostname:
        return False
    domain, _, port = rest.partition(":")
    if (str(parts.port) if parts.port is not None else "") != port:
        return False
    return parts.hostname.endswith("." + domain.lower())


def normalise_origin(value: object, where: str) -> str:
    """``scheme://host[:port]`` as browsers send it (lower case, no path, no trailing slash)."""
    if not isinstance(value, str):
        raise bad_request(where, f"must be a string, not {json_type(value)}")
    origin = value.strip().rstrip("/").lower()
    if not _ORIGIN.match(origin):
        raise bad_request(
            where, "must be an origin such as https://shop.example.com or https://*.example.com"
        )
    return origin


def _flag(body: dict[str, Any], key: str, default: bool) -> bool:
    value = body.get(key, default)
    if not isinstance(value, bool):
        raise bad_request(key, f"must be true or false, not {json_type(value)}")
    return value


def parse_settings(body: dict[str, Any]) -> PublicClientSettings:
    """A whole setting (a PUT replaces it); each problem is a 400 naming the field."""
    reject_unknown(body, _FIELDS)
    origins_raw = body.get("allowedOrigins", [])
    if not isinstance(origins_raw, list):
        raise bad_request("allowedOrigins", f"must be an array, not {json_type(origins_raw)}")
    if len(origins_raw) > MAX_ORIGINS:
        raise bad_request("allowedOrigins", f"at most {MAX_ORIGINS} origins")
    origins = tuple(
        dict.fromkeys(
            normalise_origin(o, f"allowedOrigins[{i}]") for i, o in enumerate(origins_raw)
        )
    )
    device = integer(body, "deviceRequestsPerMinute", minimum=1, maximum=100_000)
    address = integer(body, "addressRequestsPerMinute", minimum=1, maximum=1_000_000)
    return PublicClientSettings(
        enabled=_flag(body, "enabled", False),
        allowed_origins=origins,
        allow_missing_origin=_flag(body, "allowMissingOrigin", False),
        device_per_minute=DEFAULT_DEVICE_PER_MINUTE if device is None else device,
        address_per_minute=DEFAULT_ADDRESS_PER_MINUTE if address is None else address,
    )


@dataclass(slots=True)
class PublicClients:
    """Per server process: the settings cache and the rate limiters of the device endpoints."""

    cache: dict[str, tuple[float, PublicClientSettings]] = field(default_factory=dict)
    devices: RateLimiter = field(default_factory=RateLimiter)
    addresses: RateLimiter = field(default_factory=RateLimiter)

    async def settings_for(self, store: Store, app_id: str) -> PublicClientSettings:
        now = time.monotonic()
        cached = self.cache.get(app_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        doc = await store.get_document(COLLECTION, app_id)
        settings = PublicClientSettings()
        if doc is not None:
            try:
                settings = parse_settings(dict(doc.body))
            except Exception:  # a document that no longer parses is treated as "off"
                settings = PublicClientSettings()
        if len(self.cache) > 10_000:
            self.cache.clear()
        self.cache[app_id] = (now + CACHE_SECONDS, settings)
        return settings


def public_clients(request: Request) -> PublicClients:
    """This server's ``PublicClients`` (made on first use, kept on the application's state)."""
    state = request.app.state
    found = getattr(state, "public_clients", None)
    if found is None:
        found = PublicClients()
        state.public_clients = found
    assert isinstance(found, PublicClients)
    return found


async def get_public_client(request: Request) -> Response:
    access = await admin_access(request)
    app = await app_in_scope(access, request.path_params["app_id"])
    settings = await public_clients(request).settings_for(access.store, app.id)
    return json_response({"appId": app.id, **settings.to_json()})


async def put_public_client(request: Request) -> Response:
    access = await admin_access(request)
    app = await app_in_scope(access, request.path_params["app_id"])
    settings = parse_settings(await _body(request))
    await access.store.put_document(COLLECTION, app.id, settings.to_json())
    public_clients(request).cache.pop(app.id, None)
    return json_response({"appId": app.id, **settings.to_json()})


ROUTES = [
    admin_route(
        "GET",
        "/admin/api/apps/{app_id}/public-client",
        get_public_client,
        "Read the app's public-client setting",
    ),
    admin_route(
        "PUT",
        "/admin/api/apps/{app_id}/public-client",
        put_public_client,
        "Replace the app's public-client setting (allowed origins, rate limits)",
    ),
]
