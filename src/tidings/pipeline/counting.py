"""The counting consumer: catalogs and campaign stats from the log, where appends do not count.

With the event log in the database, an append updates the events catalog and the campaign
stats in its own transaction. With the log on JetStream the append is the stream's business
only, so this consumer reads the log (one consumer per partition, like every other) and folds
each batch into the database with :meth:`~tidings.storage.roles.Stats.count_batch`, which moves
the consumer's cursor in the same transaction: a batch handed over twice (a lost lease, a
crash) is counted once. Writes are one transaction per batch, not one per upload.

The catalogs are the ones an ingest on a SQL log keeps, within the same
:class:`~tidings.storage.CatalogLimits`: event names and their counts, and the custom-property
keys of the user's map each upload carried. That map is read back from the log record itself
(the shared prefix of an upload's event payloads holds it, see :mod:`tidings.core.logpayload`),
parsed once per upload and handed over as one object, so the append needs to know nothing about
catalogs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from tidings.core.logpayload import SDK_SOURCE, decode, laid_out, own_event, shared_part
from tidings.core.partitions import partition_cursor, partition_key, partition_of
from tidings.pipeline.runner import Consumer
from tidings.storage import CatalogLimits, Counted, DecisionIn, EventIn, LogRecord, Store

COUNTING = "counting"
"""The consumer's name (its cursors are ``counting@p<n>``)."""


Shared = dict[bytes, Mapping[str, Any] | None]
"""Custom-property maps by upload prefix, so one upload's map is parsed once and is one object."""


def _custom_properties(head: object) -> Mapping[str, Any] | None:
    """The ``customProperties`` of an SDK payload's shared fields, when it is a map."""
    if not isinstance(head, dict) or head.get("source") != SDK_SOURCE:
        return None
    props = head.get("customProperties")
    return props if isinstance(props, dict) and props else None


def _event_fields(
    record: LogRecord, shared: Shared
) -> tuple[str, dict[str, Any] | None, Mapping[str, Any] | None]:
    """``(type, properties, custom properties)`` of a stored event (properties only matter for
    system events; the custom properties are the user's map of the upload)."""
    custom: Mapping[str, Any] | None = None
    try:
        own = None
        if laid_out("event", record.payload, record.prefix):
            own = own_event(record.payload, record.prefix)
            if record.prefix in shared:
                custom = shared[record.prefix]
            else:
                custom = shared[record.prefix] = _custom_properties(shared_part(record.prefix))
        if own is None:
            whole = decode(record.payload)
            own = whole.get("event", whole) if isinstance(whole, dict) else None
            custom = _custom_properties(whole)
    except orjson.JSONDecodeError:
        own = None
    if not isinstance(own, dict):
        return "custom", None, custom
    kind = own.get("type")
    kind = kind if isinstance(kind, str) else "custom"
    props = own.get("properties")
    return kind, props if kind == "system" and isinstance(props, dict) else None, custom


def counted(record: LogRecord, shared: Shared | None = None) -> Counted:
    """What a log record adds to the catalogs and stats (``shared``: the maps already parsed
    in this batch, by upload prefix)."""
    if record.kind == "event":
        kind, props, custom = _event_fields(record, {} if shared is None else shared)
        item: EventIn | DecisionIn = EventIn(
            record.item_id, record.name, kind, record.timestamp, b"", properties=props
        )
        return Counted(record.seq, record.app_id, item, custom)
    try:
        whole = decode(record.payload)
    except orjson.JSONDecodeError:
        whole = None
    decision = whole.get("decision", whole) if isinstance(whole, dict) else None
    status = decision.get("status") if isinstance(decision, dict) else None
    item = DecisionIn(record.item_id, record.name, str(status or "UNKNOWN"), record.timestamp, b"")
    return Counted(record.seq, record.app_id, item)


class Counting:
    """The counting consumer of one store (none when its appends count themselves); the
    catalogs keep within ``limits``, which must be the servers' (``ServerSettings``)."""

    def __init__(self, store: Store, limits: CatalogLimits | None = None) -> None:
        self._store = store
        self._limits = limits or CatalogLimits()

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
        shared: Shared = {}
        # A conversion record counts in no catalog or stat (a SQL log's append of it adds none);
        # a batch of nothing else moves the cursor as any consumer's does.
        batch = [counted(r, shared) for r in rows if r.kind != "conversion"]
        if batch:
            await self._store.count_batch(cursor, batch, self._limits)
