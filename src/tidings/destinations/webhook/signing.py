"""Standard Webhooks signatures: ``webhook-id``, ``webhook-timestamp``, ``webhook-signature``.

The signed content is ``{id}.{timestamp}.{body}`` (the id, the Unix time in seconds of this
attempt, and the exact body bytes sent), signed with HMAC-SHA256 under each secret. A secret is
``whsec_`` followed by base64 of its bytes (at least 24 of them); the signature header is
``v1,<base64 of the MAC>``, one per secret separated by spaces, so a receiver keeps verifying
while a destination's secret is rotated (the new secret first, the old one still accepted).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence

from tidings.core.errors import InvalidConfig

SECRET_PREFIX = "whsec_"
MIN_SECRET_BYTES = 24
MAX_SECRET_BYTES = 64


def parse_secret(text: object, field: str = "settings.secret") -> bytes:
    """The key bytes of a ``whsec_...`` secret; :class:`InvalidConfig` naming ``field``."""
    if not isinstance(text, str) or not text.startswith(SECRET_PREFIX):
        raise InvalidConfig(field, "must be a whsec_ secret (whsec_ followed by base64)")
    encoded = text[len(SECRET_PREFIX) :]
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidConfig(field, "the part after whsec_ is not base64") from None
    if not MIN_SECRET_BYTES <= len(key) <= MAX_SECRET_BYTES:
        raise InvalidConfig(
            field, f"must hold {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes, not {len(key)}"
        )
    return key


def signature(key: bytes, msg_id: str, timestamp_s: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256 of "{msg_id}.{timestamp_s}.{body}">`` under ``key``."""
    content = f"{msg_id}.{timestamp_s}.".encode() + body
    mac = hmac.new(key, content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode("ascii")


def signed_headers(
    keys: Sequence[bytes], msg_id: str, timestamp_s: int, body: bytes
) -> dict[str, str]:
    """The three Standard Webhooks headers of one attempt, signed under every key."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp_s),
        "webhook-signature": " ".join(signature(k, msg_id, timestamp_s, body) for k in keys),
    }
