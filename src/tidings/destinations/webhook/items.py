"""What the outbox stores for a webhook: one message (its id, JSON bytes and order key), or a
payload rendered elsewhere, sent alone under its own id."""

from __future__ import annotations

from dataclasses import dataclass

import orjson


@dataclass(slots=True)
class WebhookItem:
    """One message to deliver: its id (``webhook-id`` when sent alone, and the receiver's
    idempotency key), its JSON bytes, its order key, and whether it is a payload rendered
    elsewhere (sent alone, unwrapped)."""

    key: str
    enqueued_ms: int
    body: bytes
    order: str = ""
    rendered: bool = False
    attempts: int = 0


def encode_item(item: WebhookItem) -> bytes:
    """The outbox bytes of an item (its key, age and attempts live in outbox columns)."""
    head = b'{"order":' + orjson.dumps(item.order)
    if item.rendered:
        head += b',"rendered":true'
    return head + b',"body":' + item.body + b"}"


def decode_item(key: str, data: bytes, enqueued_ms: int, attempts: int) -> WebhookItem:
    """The :class:`WebhookItem` :func:`encode_item` stored."""
    stored = orjson.loads(data)
    body = orjson.dumps(stored["body"])
    order = str(stored.get("order") or "")
    return WebhookItem(key, enqueued_ms, body, order, bool(stored.get("rendered")), attempts)
