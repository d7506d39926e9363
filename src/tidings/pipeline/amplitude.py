"""Amplitude delivery on the pipeline: the log consumer, the outbox sender, replay.

**Consumer** ``destination:{id}`` (one per enabled instance, :mod:`.amplitude_log`): maps each
log batch and sends it straight to Amplitude, writing to the outbox only what has to wait
(retries, devices with rows already waiting, a paused instance, small batches), all committed
before the cursor moves (:mod:`.amplitude_direct` says why that is durable).

**Sender** (service ``amplitude``): per active instance, one process at a time (lease
``sender:{id}``) takes due outbox rows in enqueue order (per-device order kept by the outbox
query), batches them when enough are due or the oldest is old enough (:class:`BatchPolicy`),
sends them with :class:`AmplitudeSender` (limiter, 400/413/429/5xx handling) on a worker
thread, and settles every row's outcome in one transaction. ``paused`` outcomes leave the rows
where they are and flag the instance.

**Replay** of a time range (:mod:`.amplitude_replay`) re-reads the log into the outbox;
Amplitude deduplicates by ``insert_id`` (the event id), so replaying never counts twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tidings.destinations.amplitude import AmplitudeSender, BatchPolicy, Pending
from tidings.destinations.amplitude.delivery import DEFAULT_MAX_AGE_MS, Outcome
from tidings.destinations.amplitude.items import decode_item
from tidings.pipeline.amplitude_direct import DirectOptions, dead_request
from tidings.pipeline.amplitude_log import (
    built_destination,
    consumers_provider,
    enqueue_records,
    instance_consumers,
    map_records,
    wake,
    wake_event,
    work_for_records,
)
from tidings.pipeline.amplitude_replay import (
    REPLAYS,
    ReplayProgress,
    parse_time_bound,
    replay,
    request_replay,
    run_pending_replays,
)
from tidings.pipeline.base import ServiceContext, register_provider, register_service
from tidings.pipeline.instances import (
    Instance,
    get_instance,
    list_instances,
    sender_lease,
    set_paused,
)
from tidings.storage import DeadLetterIn, NotFoundError, OutboxRow, Settle, Store

__all__ = [
    "REPLAYS",
    "DirectOptions",
    "InstanceSender",
    "ReplayProgress",
    "SenderOptions",
    "amplitude_service",
    "built_destination",
    "configure_sender",
    "consumers_provider",
    "enqueue_records",
    "instance_consumers",
    "map_records",
    "parse_time_bound",
    "replay",
    "request_replay",
    "run_pending_replays",
    "wake",
    "work_for_records",
]

_log = logging.getLogger("tidings.pipeline.amplitude")


def _now_ms() -> int:
    return int(time.time() * 1000)


register_provider("amplitude", instance_consumers)


# ------------------------------------------------------------------------------ outbox → Amplitude


@dataclass(frozen=True, slots=True)
class SenderOptions:
    """Tuning of the sender loop (defaults suit a server).

    ``batch``: flush when ``max_events`` are due or the oldest due one waited ``max_wait_ms``.
    ``poll_seconds``: how often an idle sender looks for rows enqueued by other processes.
    ``direct``: when the log consumer sends a batch itself rather than through the outbox.
    """

    batch: BatchPolicy = field(default_factory=lambda: BatchPolicy(1000, max_wait_ms=1000))
    max_age_ms: int = DEFAULT_MAX_AGE_MS
    timeout_s: float = 10.0
    poll_seconds: float = 0.5
    max_request_events: int = 1000
    direct: DirectOptions = field(default_factory=DirectOptions)


def _settle_for(outcome: Outcome, row: OutboxRow, item: Pending) -> Settle | None:
    if outcome.kind == "delivered":
        return Settle(row.id)
    if outcome.kind == "retry":
        at = outcome.retry_at_ms if outcome.retry_at_ms is not None else _now_ms()
        attempts = max(outcome.attempts, row.attempts)
        return Settle(row.id, retry_at=at, reason=outcome.reason, attempts=attempts)
    if outcome.kind == "dead":
        dead = DeadLetterIn(
            row.item_key,
            outcome.attempts,
            outcome.reason,
            row.body,
            dead_request(outcome.request, item.event),
            outcome.response,
        )
        return Settle(row.id, dead=dead)
    return None  # paused: the row stays as it is


class InstanceSender:
    """Sends one instance's outbox; one per instance per process (under the sender lease)."""

    def __init__(self, store: Store, instance: Instance, options: SenderOptions) -> None:
        self.store = store
        self.instance = instance
        self.options = options
        self.sender = self._make_sender(instance)
        self.sent = 0

    def _make_sender(self, instance: Instance) -> AmplitudeSender:
        destination = instance.build()
        return AmplitudeSender(
            destination.settings,
            timeout_s=self.options.timeout_s,
            max_age_ms=self.options.max_age_ms,
            max_batch_events=self.options.max_request_events,
        )

    def reconfigure(self, instance: Instance) -> None:
        """Pick up changed settings (a new API key...) without losing the limiter state."""
        if instance.body.get("settings") != self.instance.body.get("settings"):
            old = self.sender
            self.sender = self._make_sender(instance)
            self.sender.limiters = old.limiters
            old.close()
        self.instance = instance

    def close(self) -> None:
        self.sender.close()

    async def step(self, *, force: bool = False) -> int:
        """Send one batch if one is ready; returns how many rows were settled."""
        now = _now_ms()
        rows = await self.store.due(self.instance.id, now, self.options.batch.max_events)
        if not rows:
            return 0
        oldest = min(r.enqueued_ms for r in rows)
        if not force and not self.options.batch.should_flush(len(rows), oldest, now):
            return 0
        items = [decode_item(r.item_key, r.body, r.enqueued_ms, r.attempts) for r in rows]
        self.sender.resume()
        outcomes = await asyncio.to_thread(self.sender.send, items, now)
        by_key = {r.item_key: (r, i) for r, i in zip(rows, items, strict=True)}
        settled: list[Settle] = []
        paused: str | None = None
        for outcome in outcomes:
            pair = by_key.get(outcome.key)
            if pair is None:
                continue
            if outcome.kind == "paused":
                paused = outcome.reason
            one = _settle_for(outcome, pair[0], pair[1])
            if one is not None:
                settled.append(one)
        await self.store.settle(self.instance.id, settled)
        if paused is not None:
            _log.warning("amplitude %s paused: %s", self.instance.id, paused)
            await set_paused(self.store, self.instance.id, paused, now)
        self.sent += sum(1 for s in settled if s.retry_at is None and s.dead is None)
        return len(settled)

    async def drain(self) -> int:
        """Send everything that is due now, whatever the batch policy (tests, ``--once``)."""
        total = 0
        while (n := await self.step(force=True)) > 0:
            total += n
        return total


async def _wait(ctx: ServiceContext, instance_id: str, seconds: float) -> None:
    wake = wake_event(instance_id)
    stopper = asyncio.create_task(ctx.stopping.wait())
    waker = asyncio.create_task(wake.wait())
    try:
        await asyncio.wait({stopper, waker}, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        wake.clear()
        for task in (stopper, waker):
            task.cancel()
        await asyncio.gather(stopper, waker, return_exceptions=True)


async def _run_instance(
    store: Store, instance_id: str, ctx: ServiceContext, options: SenderOptions
) -> None:
    lease = sender_lease(instance_id)
    sender: InstanceSender | None = None
    try:
        while not ctx.stopping.is_set():
            try:
                instance = await get_instance(store, instance_id)
            except NotFoundError:
                return
            if not instance.active:
                return
            if not await store.acquire_lease(lease, ctx.holder, ctx.lease_ms):
                if await ctx.sleep(ctx.lease_ms / 3000):
                    return
                continue
            if sender is None:
                sender = InstanceSender(store, instance, options)
            else:
                sender.reconfigure(instance)
            await run_pending_replays(store, instance)
            if await sender.step():
                continue
            nxt = await store.next_due_ms(instance_id)
            wait = options.poll_seconds
            if nxt is not None:
                until_due = (nxt - _now_ms()) / 1000
                flush_in = options.batch.max_wait_ms / 1000
                wait = max(0.005, min(wait, max(until_due, 0.0) + 0.001, flush_in))
            await _wait(ctx, instance_id, wait)
    finally:
        if sender is not None:
            sender.close()
        with contextlib.suppress(Exception):
            await store.release_lease(lease, ctx.holder)


def amplitude_service(
    options: SenderOptions | None = None,
) -> Callable[[Store, ServiceContext], Any]:
    """The sender service: one task per active instance, restarted as instances change."""
    opts = options or SenderOptions()

    async def service(store: Store, ctx: ServiceContext) -> None:
        tasks: dict[str, asyncio.Task[None]] = {}
        try:
            while not ctx.stopping.is_set():
                for instance in await list_instances(store):
                    task = tasks.get(instance.id)
                    if instance.active and (task is None or task.done()):
                        if task is not None and task.exception() is not None:
                            _log.warning("amplitude %s sender failed: %s", instance.id, task)
                        tasks[instance.id] = asyncio.create_task(
                            _run_instance(store, instance.id, ctx, opts),
                            name=f"amplitude-sender:{instance.id}",
                        )
                if await ctx.sleep(max(opts.poll_seconds, 0.2)):
                    break
        finally:
            await asyncio.gather(*tasks.values(), return_exceptions=True)

    return service


register_service("amplitude", amplitude_service())


def configure_sender(options: SenderOptions) -> None:
    """Replace the registered sender and consumers' options (``tidings worker --batch-size``)."""
    register_service("amplitude", amplitude_service(options))
    register_provider("amplitude", consumers_provider(options.direct))
