"""Credentials of the three key kinds, and the device request signature.

- Device requests carry ``X-Api-Key`` (an app's public key) and, on the signed endpoint,
  ``X-Signature`` = hex HMAC-SHA256 keyed with the app's secret over
  ``METHOD + PATH_WITH_QUERY + RAW_BODY + X-Timestamp + X-Request-Id``. The form without the
  request id (what SDKs before 0.2 send) is still accepted for this release.
- Segment-compatible endpoints take a write key as the HTTP Basic user name.
- The admin API takes ``Authorization: Bearer <admin token>``.

Each kind is looked up only among keys of its own kind, so a key of one kind can never open
another kind's endpoints. The parsing here is pure; the lookups are done by the handlers against
the store.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass

from starlette.requests import Request

from tidings.server.errors import ApiError

TIMESTAMP_WINDOW_SECONDS = 300
"""How far ``X-Timestamp`` may be from the server clock, either way (5 minutes)."""

_UUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
MAX_KEY_LENGTH = 256
_HEX_RE = re.compile(r"^[0-9a-fA-F]{64}$")


def path_with_query(request: Request) -> str:
    """The request target as the client sent it: raw path, then ``?query`` when there is one."""
    raw = request.scope.get("raw_path")
    path = raw.decode("latin-1") if raw else request.url.path
    query = request.scope.get("query_string", b"")
    return f"{path}?{query.decode('latin-1')}" if query else path


def signature_payload(method: str, target: str, body: bytes, timestamp: str) -> bytes:
    """The bytes both signature forms begin with; the current form appends the request id."""
    return (
        method.upper().encode("ascii") + target.encode("utf-8") + body + timestamp.encode("ascii")
    )


def sign(  # noqa: PLR0917 - the parts of the request, in signing order
    secret: str | bytes,
    method: str,
    target: str,
    body: bytes,
    timestamp: str,
    request_id: str | None = None,
) -> str:
    """Hex HMAC-SHA256 of a request, as a device computes it (used by tests and benchmarks).

    With ``request_id`` the current form (the id is signed too); without it the older form,
    accepted for this release. The key is the UTF-8 bytes of ``apiKeySecret`` as shown at
    creation.
    """
    payload = signature_payload(method, target, body, timestamp)
    if request_id is not None:
        payload += request_id.encode("ascii")
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    return hmac.new(key, payload, hashlib.sha256).hexdigest()


def verified_digest(  # noqa: PLR0917 - the parts of the request, in signing order
    secret: str | bytes,
    method: str,
    target: str,
    body: bytes,
    timestamp: str,
    signature: str,
    request_id: str,
) -> bytes | None:
    """Check ``X-Signature`` in constant time; on a match, a digest that names the request.

    A signature of either form matches: over ``... + X-Timestamp + X-Request-Id`` (current),
    or over ``... + X-Timestamp`` alone (SDKs before 0.2; accepted for this release). The
    digest is the keyed hash of ``METHOD + PATH_WITH_QUERY + RAW_BODY``, the same for every
    retry of the request (a retry is signed afresh, with a new timestamp) and different for
    any other body: what a stored response is kept with. The body is hashed once for all of it.
    """
    if not _HEX_RE.match(signature):
        return None
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    mac = hmac.new(key, method.upper().encode("ascii") + target.encode("utf-8"), hashlib.sha256)
    mac.update(body)
    request = mac.copy()
    mac.update(timestamp.encode("ascii"))
    current = mac.copy()
    current.update(request_id.encode("ascii"))
    presented = signature.lower()
    if hmac.compare_digest(current.hexdigest(), presented) or hmac.compare_digest(
        mac.hexdigest(), presented
    ):
        return request.digest()
    return None


@dataclass(frozen=True, slots=True)
class SignedHeaders:
    """The headers of a signed device request, checked for presence and form."""

    api_key: str
    signature: str
    timestamp: str
    request_id: str
    """Lower-cased: how the id is remembered."""
    request_id_sent: str
    """As the client sent it: what the signature covers."""


def signed_headers(request: Request, now_seconds: float) -> SignedHeaders:
    """Check the signed-request headers in the contract's order: 403s first, then 409.

    Missing key, signature or timestamp, or a timestamp outside the window, is 403; a missing or
    malformed request id is 409. The signature itself is verified once the body is read.
    """
    headers = request.headers
    api_key = headers.get("x-api-key", "").strip()
    signature = headers.get("x-signature", "").strip()
    timestamp = headers.get("x-timestamp", "").strip()
    for name, value in (
        ("X-Api-Key", api_key),
        ("X-Signature", signature),
        ("X-Timestamp", timestamp),
    ):
        if not value:
            raise ApiError(403, "missing_credentials", f"{name}: header is required")
    _check_public_key(api_key)
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        raise ApiError(403, "invalid_timestamp", "X-Timestamp: must be unix seconds (an integer)")
    if abs(int(timestamp) - int(now_seconds)) > TIMESTAMP_WINDOW_SECONDS:
        raise ApiError(
            403,
            "stale_timestamp",
            f"X-Timestamp: more than {TIMESTAMP_WINDOW_SECONDS} seconds from server time "
            f"{int(now_seconds)}",
        )
    request_id = headers.get("x-request-id", "").strip()
    if not request_id:
        raise ApiError(409, "missing_request_id", "X-Request-Id: header is required (a UUID)")
    if not _UUID_RE.match(request_id):
        raise ApiError(409, "invalid_request_id", "X-Request-Id: must be a UUID")
    return SignedHeaders(api_key, signature, timestamp, request_id.lower(), request_id)


def public_key_header(request: Request) -> str:
    """``X-Api-Key`` of an unsigned device endpoint (403 when absent)."""
    api_key = request.headers.get("x-api-key", "").strip()
    if not api_key:
        raise ApiError(403, "missing_credentials", "X-Api-Key: header is required")
    _check_public_key(api_key)
    return api_key


def _check_public_key(api_key: str) -> None:
    """A value that cannot be a key is refused before it reaches a database lookup."""
    if len(api_key) > MAX_KEY_LENGTH or not api_key.isprintable():
        raise ApiError(403, "invalid_api_key", "X-Api-Key: unknown or revoked key")


def basic_user(request: Request, body_write_key: object = None) -> str:
    """The write key: the HTTP Basic user name (Segment's auth), else ``writeKey`` in the body.

    Segment's HTTP API also accepts the key in the body; honouring it keeps older Segment
    libraries working. A bearer token here is refused, never tried as a write key.
    """
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            raise ApiError(
                401, "invalid_credentials", "Authorization: must be HTTP Basic with the write key"
            )
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise ApiError(
                401, "invalid_credentials", "Authorization: malformed Basic credentials"
            ) from None
        user = decoded.partition(":")[0]
        if not user:
            raise ApiError(401, "invalid_credentials", "Authorization: write key is empty")
        return user
    if isinstance(body_write_key, str) and body_write_key:
        return body_write_key
    raise ApiError(
        401, "missing_credentials", "Authorization: HTTP Basic with the write key is required"
    )


def bearer_token(request: Request) -> str:
    """``Authorization: Bearer <admin token>`` (401 when absent or of another scheme)."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise ApiError(
            401, "missing_credentials", "Authorization: 'Bearer <admin token>' is required"
        )
    return value.strip()
