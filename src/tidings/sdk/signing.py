"""Request signing for ``POST /api/v1/session`` (docs/spec/http-api.md, "Device → server").

The signature is hex HMAC-SHA256, keyed with the app's secret, over
``METHOD + PATH_WITH_QUERY + RAW_BODY + X-Timestamp + X-Request-Id``. Signing the request id
binds the stored answer a retry may get to this request; the body is signed as the exact bytes
sent, so the client serialises once and never re-encodes between signing and sending.
"""

from __future__ import annotations

import hashlib
import hmac


def signature(  # noqa: PLR0917 - the parts of the request, in signing order
    secret: str, method: str, path_with_query: str, body: bytes, timestamp: str, request_id: str
) -> str:
    """The ``X-Signature`` header value for one request."""
    message = (
        method.upper().encode()
        + path_with_query.encode()
        + body
        + timestamp.encode()
        + request_id.encode()
    )
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(
    *,
    api_key_public: str,
    api_key_secret: str,
    method: str,
    path_with_query: str,
    body: bytes,
    timestamp_s: int,
    request_id: str,
) -> dict[str, str]:
    """Every header the session endpoint checks, ready to send."""
    ts = str(timestamp_s)
    return {
        "Content-Type": "application/json",
        "X-Api-Key": api_key_public,
        "X-Timestamp": ts,
        "X-Request-Id": request_id,
        "X-Signature": signature(api_key_secret, method, path_with_query, body, ts, request_id),
    }
