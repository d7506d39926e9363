"""Log records to a destination's items, with one rule for every kind: one record a
destination cannot use never blocks it.

The kind maps a whole chunk at once (that is where its shortcuts live). Should that raise (a
time it cannot format, a value it cannot encode, any bug a record triggers), the chunk is mapped
again one record at a time: the records that still fail are dead-lettered with the reason, the
others go on, and the cursor moves past all of them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import orjson

from tidings.destinations.kind import Destination, Mapped, Refused
from tidings.storage import DeadLetterIn, LogRecord, OutboxItem

_log = logging.getLogger("tidings.pipeline.delivery")


def refused_letter(refused: Refused) -> DeadLetterIn:
    """A refused record as a dead letter (no request was made for it)."""
    return DeadLetterIn(refused.key, 0, refused.reason, refused.item)


def _unusable(record: LogRecord, exc: Exception) -> Refused:
    item = orjson.dumps({"seq": record.seq, "appId": record.app_id, "itemId": record.item_id})
    return Refused(f"seq:{record.seq}", f"cannot be mapped: {type(exc).__name__}: {exc}", item)


def map_records(
    destination: Destination,
    app_ids: Sequence[str],
    records: Sequence[LogRecord],
    at_ms: int,
) -> tuple[list[Mapped], list[DeadLetterIn]]:
    """The items the records of ``app_ids`` give ``destination`` (with order key and ``seq``),
    and the dead letters of what it cannot use. Pure CPU: callers run it on a worker thread."""
    apps = frozenset(app_ids)
    picked = [r for r in records if r.app_id in apps]
    try:
        items, refused = destination.map(picked, at_ms)
    except Exception:
        items, refused = [], []
        for record in picked:
            try:
                one, no = destination.map([record], at_ms)
            except Exception as exc:
                _log.warning("delivery: log record %d cannot be mapped: %s", record.seq, exc)
                refused.append(_unusable(record, exc))
                continue
            items.extend(one)
            refused.extend(no)
    return items, [refused_letter(r) for r in refused]


def item_bytes(destination: Destination, item: Any) -> bytes:
    """The outbox bytes of an item kept with its dead letter (``{}`` when it does not encode:
    the reason says why)."""
    try:
        return destination.encode(item)
    except Exception:
        return b"{}"


def queued(destination: Destination, mapped: Mapped, at_ms: int) -> OutboxItem | DeadLetterIn:
    """A mapped item as an outbox row due now, or a dead letter when it cannot be encoded."""
    item, key, seq = mapped
    try:
        body = destination.encode(item)
    except Exception as exc:
        reason = f"cannot be encoded: {type(exc).__name__}: {exc}"
        return DeadLetterIn(item.key, item.attempts, reason, b"{}")
    return OutboxItem(item.key, key, seq, at_ms, body)


def outbox_items(
    destination: Destination, mapped: Sequence[Mapped], at_ms: int
) -> tuple[list[OutboxItem], list[DeadLetterIn]]:
    """:func:`queued` for many: the rows, and the dead letters of items that do not encode."""
    rows: list[OutboxItem] = []
    dead: list[DeadLetterIn] = []
    for m in mapped:
        one = queued(destination, m, at_ms)
        if isinstance(one, OutboxItem):
            rows.append(one)
        else:
            dead.append(one)
    return rows, dead
