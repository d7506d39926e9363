"""Sending a log batch straight from the consumer; the outbox keeps only what has to wait.

The durable copy of every event is the event log, and the consumer's cursor moves past a batch
only after its handler returned. So a batch can be mapped and sent while the cursor still points
before it: until the receiver has answered *and* whatever it did not accept is committed to
the outbox, the batch is not acknowledged, and a process killed at any moment sends it again
from the log (the receiver drops the copies it already has by the item's id, ``insert_id`` for
Amplitude and ``webhook-id`` for a webhook; the outbox ignores rows it already holds by
``item_key``). In the common case, where the receiver accepts everything, a batch costs no
outbox write at all.

What goes to the outbox instead of out:

* events of a device (else user) that already has rows waiting there: they queue behind them,
  which keeps per-device order with the outbox sender;
* items the receiver asked to retry (5xx, throttled, rate-limited on our side...), with their
  due time and attempt count, and every item of an instance paused meanwhile;
* everything, when the instance is paused, when too many devices have rows waiting to list them,
  or when a batch is small: a trickle of events is better batched by the outbox's
  :class:`~tidings.destinations.kind.BatchPolicy` than sent a few at a time.

Dead items (refused by the receiver) go to ``dead_letters`` in the same transaction.

The batch is mapped and sent in chunks: mapping runs on one thread up to two chunks ahead of
the sending on another (the HTTP wait releases the interpreter lock), so the mapping cost
overlaps the receiver's (or the network's) time instead of adding to it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tidings.destinations.kind import Destination, Mapped, Outcome, Sender
from tidings.pipeline.delivery.mapping import item_bytes, queued
from tidings.storage import DeadLetterIn, OutboxItem


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


def _queue(destination: Destination, mapped: Mapped, at_ms: int, result: DirectResult) -> None:
    one = queued(destination, mapped, at_ms)
    if isinstance(one, OutboxItem):
        result.queued.append(one)
    else:
        result.dead.append(one)


def _settle(
    destination: Destination, mapped: Mapped, outcome: Outcome, at_ms: int, result: DirectResult
) -> None:
    """Record a non-delivered outcome of a directly sent item."""
    pending, key, seq = mapped
    if outcome.kind == "held":  # behind an earlier item of its key: queued after it
        _queue(destination, mapped, at_ms, result)
        return
    if outcome.kind == "retry":
        due = outcome.retry_at_ms if outcome.retry_at_ms is not None else at_ms
        result.queued.append(
            OutboxItem(
                pending.key,
                key,
                seq,
                at_ms,
                destination.encode(pending),
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
                item_bytes(destination, pending),
                destination.dead_request(outcome, pending),
                outcome.response,
            )
        )
    else:  # paused: it waits in the outbox, due as soon as the instance is resumed
        result.paused = outcome.reason
        _queue(destination, mapped, at_ms, result)


def _send_chunk(  # noqa: PLR0917 - one chunk and where its results go
    destination: Destination,
    sender: Sender,
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
            _queue(destination, mapped, at_ms, result)
            continue
        outcome = failed.get(mapped[0].key) if failed else None
        if outcome is not None:
            blocked.add(mapped[1])
            _settle(destination, mapped, outcome, at_ms, result)


async def send_direct(  # noqa: PLR0917 - what to send, how, and whose order it keeps
    destination: Destination,
    sender: Sender,
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
            await asyncio.to_thread(
                _send_chunk, destination, sender, mapped, blocked, at_ms, result
            )

    async with asyncio.TaskGroup() as group:
        group.create_task(map_all())
        group.create_task(send_all())
    return result
