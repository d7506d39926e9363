"""Sending a log batch straight to Amplitude; the outbox keeps only what has to wait.

The durable copy of every event is the event log, and the consumer's cursor moves past a batch
only after its handler returned. So a batch can be mapped and sent while the cursor still points
before it: until Amplitude has answered *and* whatever it did not accept is committed to the
outbox, the batch is not acknowledged, and a process killed at any moment sends it again from
the log (Amplitude drops the copies it already has by ``insert_id``, the outbox ignores rows it
already holds by ``item_key``). In the common case, where Amplitude accepts everything, a batch
costs no outbox write at all.

What goes to the outbox instead of out:

* events of a device (else user) that already has rows waiting there: they queue behind them,
  which keeps per-device order with the outbox sender;
* events Amplitude asked to retry (5xx, throttled, rate-limited on our side...), with their due
  time and attempt count, and every event of an instance paused meanwhile;
* everything, when the instance is paused, when too many devices have rows waiting to list them,
  or when a batch is small: a trickle of events is better batched by the outbox's
  :class:`~tidings.destinations.amplitude.BatchPolicy` than sent a few at a time.

Dead events (refused by Amplitude) go to ``dead_letters`` in the same transaction.

The batch is mapped and sent in chunks: mapping runs on one thread up to two chunks ahead of
the sending on another (the HTTP wait releases the interpreter lock), so the mapping cost
overlaps Amplitude's (or the network's) time instead of adding to it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tidings.destinations.amplitude import AmplitudeSender, Pending
from tidings.destinations.amplitude.delivery import Outcome
from tidings.destinations.amplitude.items import encode_item
from tidings.storage import DeadLetterIn, OutboxItem

Mapped = tuple[Pending, str, int]
"""One item of a mapped log record: the item, its order key and the record's ``seq``."""


@dataclass(frozen=True, slots=True)
class DirectOptions:
    """When a log batch is sent straight from the consumer.

    ``batch_records``: log records per consumer batch (per cursor commit);
    ``min_events``: smaller batches go through the outbox (batched by its policy);
    ``max_waiting_keys``: with more devices than this waiting in the outbox, everything queues;
    ``chunk_events``: how many events are mapped while the previous chunk is sent (and so the
    events per request).
    """

    batch_records: int = 4000
    min_events: int = 100
    max_waiting_keys: int = 10_000
    chunk_events: int = 500


@dataclass(slots=True)
class DirectResult:
    """What a direct send leaves to commit: outbox rows, dead letters, a pause reason."""

    queued: list[OutboxItem]
    dead: list[DeadLetterIn]
    paused: str | None = None
    delivered: int = 0


def dead_request(request: dict[str, Any] | None, event: dict[str, Any] | None) -> Any:
    """The request kept with a dead letter: the exchange, narrowed to this item's event."""
    if request is None:
        return None
    body = request.get("json")
    if not isinstance(body, dict) or event is None:
        return request
    events = body.get("events") or []
    narrowed = {**body, "events": [event]}
    return {**request, "json": narrowed, "batchEvents": len(events)}


def queued_item(mapped: Mapped, at_ms: int) -> OutboxItem:
    """``mapped`` as an outbox row due now."""
    pending, key, seq = mapped
    return OutboxItem(pending.key, key, seq, at_ms, encode_item(pending))


def _settle(mapped: Mapped, outcome: Outcome, at_ms: int, result: DirectResult) -> None:
    """Record a non-delivered outcome of a directly sent item."""
    pending, key, seq = mapped
    if outcome.kind == "retry":
        due = outcome.retry_at_ms if outcome.retry_at_ms is not None else at_ms
        result.queued.append(
            OutboxItem(
                pending.key,
                key,
                seq,
                at_ms,
                encode_item(pending),
                due_ms=due,
                attempts=outcome.attempts,
                last_reason=outcome.reason,
            )
        )
    elif outcome.kind == "dead":
        result.dead.append(
            DeadLetterIn(
                pending.key,
                outcome.attempts,
                outcome.reason,
                encode_item(pending),
                dead_request(outcome.request, pending.event),
                outcome.response,
            )
        )
    else:  # paused: it waits in the outbox, due as soon as the instance is resumed
        result.paused = outcome.reason
        result.queued.append(queued_item(mapped, at_ms))


def _send_chunk(
    sender: AmplitudeSender,
    chunk: Sequence[Mapped],
    blocked: set[str],
    at_ms: int,
    result: DirectResult,
) -> None:
    """Send the chunk's items whose key is not blocked; queue the rest and what failed.

    A key whose item failed is blocked for the rest of the batch: its later events queue behind
    the retry. Rows are added in log order, so the outbox keeps each key's order.
    """
    free = [m[1] not in blocked for m in chunk]
    sendable = [m[0] for m, ok in zip(chunk, free, strict=True) if ok]
    delivered, outcomes = sender.send_counted(sendable, at_ms) if sendable else (0, [])
    failed = {o.key: o for o in outcomes}
    result.delivered += delivered
    for mapped, ok in zip(chunk, free, strict=True):
        if not ok:
            result.queued.append(queued_item(mapped, at_ms))
            continue
        outcome = failed.get(mapped[0].key) if failed else None
        if outcome is not None:
            blocked.add(mapped[1])
            _settle(mapped, outcome, at_ms, result)


async def send_direct(
    sender: AmplitudeSender,
    chunks: Sequence[Any],
    map_chunk: Callable[[Any], tuple[list[Mapped], list[DeadLetterIn]]],
    blocked: set[str],
    at_ms: int,
    *,
    ahead: int = 2,
) -> DirectResult:
    """Map and send ``chunks`` of log records in order; mapping runs up to ``ahead`` chunks in
    front of sending, so neither waits for the other while there is work.

    ``map_chunk`` runs on a worker thread, and the sending on another, one chunk at a time in
    order; ``blocked`` holds the keys that have rows waiting in the outbox (it grows with the
    keys whose items failed here, which is why a chunk's sendable items are picked only when it
    is its turn to be sent). A failure on either side cancels the other.
    """
    result = DirectResult([], [])
    ready: asyncio.Queue[list[Mapped] | None] = asyncio.Queue(maxsize=max(1, ahead))

    async def map_all() -> None:
        for chunk in chunks:
            mapped, dead = await asyncio.to_thread(map_chunk, chunk)
            result.dead.extend(dead)
            await ready.put(mapped)
        await ready.put(None)

    async def send_all() -> None:
        while (mapped := await ready.get()) is not None:
            await asyncio.to_thread(_send_chunk, sender, mapped, blocked, at_ms, result)

    async with asyncio.TaskGroup() as group:
        group.create_task(map_all())
        group.create_task(send_all())
    return result
