"""The counting consumer: catalogs and campaign stats from the log, where appends do not count.

With the event log in the database, an append updates the events catalog and the campaign
stats in its own transaction. With the log on JetStream the append is the stream's business
only, so this consumer reads the log (one consumer per partition, like every other) and folds
each batch into the database with :meth:`~tidings.storage.roles.Stats.count_batch`, which moves
the consumer's cursor in the same transaction: a batch handed over twice (a lost lease, a
crash) is counted once. Writes are one transaction per batch, not one per upload.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from tidings.core.logpayload import decode, laid_out, own_event
from tidings.core.partitions import partition_cursor, partition_key, partition_of
from tidings.pipeline.runner import Consumer
from tidings.storage import Counted, DecisionIn, EventIn, LogRecord, Store

COUNTING = "counting"
"""The consumer's name (its cursors are ``counting@p<n>``)."""


def _event_fields(record: LogRecord) -> tuple[str, dict[str, Any] | None]:
    """``(type, properties)`` of a stored event (properties only matter for system events)."""
    try:
        own = None
        if laid_out("event", record.payload, record.prefix):
            own = own_event(record.payload, record.prefix)
        if own is None:
            whole = decode(record.payload)
            own = whole.get("event", whole) if isinstance(whole, dict) else None
    except orjson.JSONDecodeError:
        own = None
    if not isinstance(own, dict):
        return "custom", None
    kind = own.get("type")
    kind = kind if isinstance(kind, str) else "custom"
    props = own.get("properties")
    return kind, props if kind == "system" and isinstance(props, dict) else None


def counted(record: LogRecord) -> Counted:
    """What a log record adds to the catalogs and stats."""
    if record.kind == "event":
        kind, props = _event_fields(record)
        item: EventIn | DecisionIn = EventIn(
            record.item_id, record.name, kind, record.timestamp, b"", properties=props
        )
    else:
        try:
            whole = decode(record.payload)
        except orjson.JSONDecodeError:
            whole = None
        decision = whole.get("decision", whole) if isinstance(whole, dict) else None
        status = decision.get("status") if isinstance(decision, dict) else None
        item = DecisionIn(
            record.item_id, record.name, str(status or "UNKNOWN"), record.timestamp, b""
        )
    return Counted(record.seq, record.app_id, item)


class Counting:
    """The counting consumer of one store (none when its appends count themselves)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def consumers(self, store: Store) -> Sequence[Consumer]:
        if store.counts_on_append:
            return []
        return [Consumer(COUNTING, self.handle, batch_size=2000)]

    async def handle(self, rows: Sequence[LogRecord]) -> None:
        if not rows:
            return
        parts = self._store.partitions
        first = rows[0]
        partition = partition_of(first.app_id, partition_key(first.device_id, first.user_id), parts)
        cursor = partition_cursor(COUNTING, partition) if parts > 1 else COUNTING
        await self._store.count_batch(cursor, [counted(r) for r in rows])
