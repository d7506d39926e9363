"""Migrations 2 and 4 (both backends): leases, destination outboxes and dead letters.

* ``leases``: who may advance a consumer cursor or run a sender right now (see ``leases.py``).
* ``outbox``: rows waiting for delivery to a destination instance. ``id`` gives the enqueue
  order, which the sender keeps per ``order_key`` (the device, else the user); ``item_key`` is
  unique per instance so a log batch handed over twice (at-least-once) enqueues once.
* ``dead_letters``: what was given up on, with the request, the response and the reason.
"""

from __future__ import annotations

from tidings.storage.migrations import Migration


def _statements(int_type: str, identity: str, blob: str) -> list[str]:
    return [
        f"""CREATE TABLE leases (
            name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at {int_type} NOT NULL)""",
        f"""CREATE TABLE outbox (
            id {identity}, destination_id TEXT NOT NULL, item_key TEXT NOT NULL,
            order_key TEXT NOT NULL, log_seq {int_type} NOT NULL,
            enqueued_ms {int_type} NOT NULL, due_ms {int_type} NOT NULL,
            attempts {int_type} NOT NULL DEFAULT 0, last_reason TEXT NOT NULL DEFAULT '',
            body {blob} NOT NULL, UNIQUE (destination_id, item_key))""",
        "CREATE INDEX outbox_queue ON outbox (destination_id, id)",
        "CREATE INDEX outbox_due ON outbox (destination_id, due_ms)",
        "CREATE INDEX outbox_blocked ON outbox (destination_id, order_key, due_ms)",
        f"""CREATE TABLE dead_letters (
            id TEXT PRIMARY KEY, destination_id TEXT NOT NULL, item_key TEXT NOT NULL,
            created_at {int_type} NOT NULL, attempts {int_type} NOT NULL, reason TEXT NOT NULL,
            item {blob} NOT NULL, request {blob}, response {blob})""",
        "CREATE INDEX dead_letters_destination ON dead_letters (destination_id, created_at)",
    ]


SQLITE_DELIVERY: Migration = (
    2,
    "leases, outbox, dead letters",
    _statements("INTEGER", "INTEGER PRIMARY KEY", "BLOB"),
)
POSTGRES_DELIVERY: Migration = (
    2,
    "leases, outbox, dead letters",
    _statements("BIGINT", "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", "BYTEA"),
)


_DEAD_LETTER_KEYS = [
    "CREATE INDEX dead_letters_item ON dead_letters (destination_id, item_key)",
]
SQLITE_DEAD_LETTER_KEYS: Migration = (4, "dead letters found by item", _DEAD_LETTER_KEYS)
POSTGRES_DEAD_LETTER_KEYS: Migration = (4, "dead letters found by item", _DEAD_LETTER_KEYS)
"""Migration 4: an index to find an item's dead letter, so a redelivered batch adds none twice."""
