"""Replay of a time range into a destination's outbox (admin API and CLI).

Replaying re-reads the log into the outbox through the same mapping as the consumer; each item
keeps the id of its log record (Amplitude's ``insert_id``, a webhook's ``webhook-id``), so the
receiver can tell a replayed item it already has from a new one.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from tidings.core.errors import InvalidInput
from tidings.core.timeparse import parse_instant
from tidings.destinations.kind import Clock, wall_ms
from tidings.pipeline.delivery.consumer import enqueue_records
from tidings.pipeline.delivery.instances import Instance
from tidings.storage import Document, LogKind, Store

REPLAYS = "replays"
"""Replay requests recorded by the admin API: collection ``replays:{instance id}``."""


@dataclass(slots=True)
class ReplayProgress:
    """What a replay did so far (records read, items enqueued, the last timestamp seen)."""

    records: int = 0
    items: int = 0
    last_timestamp: int | None = None


def parse_time_bound(field_name: str, value: object) -> int:
    """A replay bound: epoch ms, or ISO 8601 (a time without an offset is UTC)."""
    if type(value) is int and value >= 0:
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return int(text)
        ms = parse_instant(text)
        if ms is not None:
            return ms
        try:
            moment = datetime.fromisoformat(text)  # a date, or a time without offset: UTC
        except ValueError:
            pass
        else:
            return int(moment.replace(tzinfo=moment.tzinfo or UTC).timestamp() * 1000)
    raise InvalidInput(field_name, "must be epoch milliseconds or an ISO 8601 time")


async def replay(
    store: Store,
    instance: Instance,
    from_ms: int,
    to_ms: int,
    *,
    page: int = 1000,
    on_progress: Callable[[ReplayProgress], None] | None = None,
    clock: Clock = wall_ms,
) -> ReplayProgress:
    """Enqueue every event of the instance's apps with a timestamp in ``[from_ms, to_ms)``
    (and every decision, for a kind whose ``log_kinds`` include them)."""
    progress = ReplayProgress()
    reads = instance.destination_kind.log_kinds
    kind: LogKind | None = None if "decision" in reads else "event"
    for app_id in instance.app_ids:
        after = 0
        while True:
            records = await store.read_time_range(
                app_id, from_ms, to_ms, after_seq=after, limit=page, kind=kind
            )
            if not records:
                break
            progress.items += await enqueue_records(store, instance, records, clock=clock)
            progress.records += len(records)
            progress.last_timestamp = records[-1].timestamp
            after = records[-1].seq
            if on_progress is not None:
                on_progress(progress)
    return progress


async def request_replay(
    store: Store, instance_id: str, from_ms: int, to_ms: int, at_ms: int
) -> Document:
    """Record a replay of ``[from_ms, to_ms)`` for the instance's sender to run (admin API);
    :func:`run_pending_replays` is the other half."""
    return await store.put_document(
        f"{REPLAYS}:{instance_id}",
        f"rpl_{secrets.token_hex(8)}",
        {"from": from_ms, "to": to_ms, "requestedAt": at_ms, "status": "pending"},
    )


async def run_pending_replays(store: Store, instance: Instance, clock: Clock = wall_ms) -> int:
    """Run the replay requests the admin API recorded for ``instance``; returns how many.

    The sender calls this while it holds the instance's lease, so one process runs each.
    """
    collection = f"{REPLAYS}:{instance.id}"
    count = 0
    for doc in await store.list_documents(collection):
        if doc.body.get("status") != "pending":
            continue
        body = dict(doc.body)
        done = await replay(store, instance, int(body["from"]), int(body["to"]), clock=clock)
        body.update(status="done", records=done.records, items=done.items, doneAt=clock())
        await store.put_document(collection, doc.id, body)
        count += 1
    return count
