"""The records of delivery: outbox items and rows, their outcomes, dead letters, leases.

Items are opaque bytes here: the destination kind decides what they hold (an Amplitude event,
a signed webhook body...). The store only keeps them in order, per destination and order key.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """An item to enqueue: ``item_key`` is unique per destination (a second enqueue is a no-op).

    ``due_ms`` (default: the enqueue time), ``attempts`` and ``last_reason`` let an item that
    already failed once elsewhere (sent straight from the log) enter the outbox as a retry.
    """

    item_key: str
    order_key: str
    log_seq: int
    enqueued_ms: int
    body: bytes
    due_ms: int | None = None
    attempts: int = 0
    last_reason: str = ""


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """A stored outbox row. ``id`` grows in enqueue order: the order rows are sent in."""

    id: int
    destination_id: str
    item_key: str
    order_key: str
    log_seq: int
    enqueued_ms: int
    due_ms: int
    attempts: int
    last_reason: str
    body: bytes


@dataclass(frozen=True, slots=True)
class DeadLetterIn:
    """An item given up on, with what explains why (JSON-able request/response)."""

    item_key: str
    attempts: int
    reason: str
    item: bytes
    request: object = None
    response: object = None


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A stored dead letter."""

    id: str
    destination_id: str
    item_key: str
    created_at: int
    attempts: int
    reason: str
    item: bytes
    request: object
    response: object

    def to_json(self) -> dict[str, object]:
        """The admin API shape (``item`` decoded: it is JSON)."""
        return {
            "id": self.id,
            "destinationId": self.destination_id,
            "itemKey": self.item_key,
            "createdAt": self.created_at,
            "attempts": self.attempts,
            "reason": self.reason,
            "item": orjson.loads(self.item),
            "request": self.request,
            "response": self.response,
        }


@dataclass(frozen=True, slots=True)
class Settle:
    """The outcome of one row: delivered (the default: the row goes), ``retry_at`` or ``dead``."""

    row_id: int
    retry_at: int | None = None
    reason: str = ""
    attempts: int = 0
    dead: DeadLetterIn | None = None


@dataclass(frozen=True, slots=True)
class Lease:
    """One lease row as listed for operators (``tidings worker`` status, tests)."""

    name: str
    holder: str
    expires_at: int


def dead_letter_id(at_ms: int, position: int, random_hex: str) -> str:
    """A dead letter's id: time first, then its position in its batch, so ids sort in the
    order letters were written."""
    return f"dl_{at_ms:012x}{position:05x}{random_hex[:10]}"
