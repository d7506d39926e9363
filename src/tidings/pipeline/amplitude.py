"""Amplitude delivery on the pipeline: log → outbox consumer, outbox → Amplitude sender, replay.

**Consumer** ``destination:{id}`` (one per enabled instance): each event-log record of the
instance's apps becomes its canonical message, ``Destination.work`` turns it into items, and
the items (plus mapping failures, as dead letters) are written to the outbox in one transaction
before the cursor moves. Redelivered batches enqueue nothing twice (``item_key`` is unique).

**Sender** (service ``amplitude``): per active instance, one process at a time (lease
``sender:{id}``) takes due rows in enqueue order (per-device order kept by the outbox query),
batches them when enough are due or the oldest is old enough (:class:`BatchPolicy`), sends them
with :class:`AmplitudeSender` (limiter, 400/413/429/5xx handling) on a worker thread, and
settles every row's outcome in one transaction. ``paused`` outcomes leave the rows where they
are and flag the instance.

**Replay** of a time range re-reads the log into the outbox through the same path; Amplitude
deduplicates by ``insert_id`` (the event id), so replaying delivered events never counts twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from tidings.core.errors import InvalidInput
from tidings.core.timeparse import parse_instant
from tidings.destinations.amplitude import (
    AmplitudeSender,
    BatchPolicy,
    Currents,
    Destination,
    Pending,
)
from tidings.destinations.amplitude.delivery import DEFAULT_MAX_AGE_MS, Outcome
from tidings.destinations.amplitude.items import (
    decode_item,
    encode_item,
    message_from_payload,
    order_key,
)
from tidings.pipeline.base import Consumer, ServiceContext, register_provider, register_service
from tidings.pipeline.instances import (
    Instance,
    cursor_name,
    get_instance,
    list_instances,
    sender_lease,
    set_paused,
)
from tidings.storage import LogRecord, NotFoundError, Store
from tidings.storage.leases import acquire_lease, release_lease
from tidings.storage.outbox import (
    DeadLetterIn,
    OutboxItem,
    OutboxRow,
    Settle,
    due,
    enqueue,
    next_due_ms,
    settle,
)
from tidings.storage.sqlstore import SqlStore

_log = logging.getLogger("tidings.pipeline.amplitude")

_WAKE: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Event]] = (
    weakref.WeakKeyDictionary()
)
"""Per event loop (events bind to the loop that first waits on them), per instance."""


def _now_ms() -> int:
    return int(time.time() * 1000)


def _wake(instance_id: str) -> asyncio.Event:
    events = _WAKE.setdefault(asyncio.get_running_loop(), {})
    event = events.get(instance_id)
    if event is None:
        event = events[instance_id] = asyncio.Event()
    return event


def wake(instance_id: str) -> None:
    """Tell this process's sender of ``instance_id`` that rows were enqueued (others poll)."""
    _wake(instance_id).set()


def sql_store(store: Store) -> SqlStore:
    if not isinstance(store, SqlStore):
        raise TypeError("Amplitude delivery needs a SQL store")
    return store


# ------------------------------------------------------------------------------ log → outbox


def _currents_items(currents: Currents, message: dict[str, Any], at: int) -> list[Pending]:
    key = str(message.get("messageId") or "")
    return [
        Pending(f"{key}/currents/{n}", at, event=event)
        for n, event in enumerate(currents.events(message))
    ]


def work_for_records(
    instance: Instance,
    records: Sequence[LogRecord],
    at_ms: int,
    destination: Destination | Currents | None = None,
) -> tuple[list[OutboxItem], list[DeadLetterIn]]:
    """Outbox items and mapping-time dead letters for log records (pure, for tests and replay).

    ``destination``: ``instance.build()`` made earlier (parsing subscriptions is not free).
    """
    if destination is None:
        destination = instance.build()
    apps = set(instance.app_ids)
    items: list[OutboxItem] = []
    dead: list[DeadLetterIn] = []
    for record in records:
        if record.app_id not in apps or record.kind != "event":
            continue
        try:
            payload = orjson.loads(record.payload)
            message = message_from_payload(
                record.kind, payload, device_id=record.device_id, user_id=record.user_id
            )
        except (orjson.JSONDecodeError, InvalidInput, TypeError, ValueError) as exc:
            dead.append(DeadLetterIn(f"seq:{record.seq}", 0, f"unreadable log row: {exc}", b"{}"))
            continue
        if message is None:
            continue
        if isinstance(destination, Currents):
            pending = _currents_items(destination, message, at_ms)
        else:
            work = destination.work(message, at_ms)
            pending = work.items
            dead.extend(
                DeadLetterIn(o.key, 0, o.reason, orjson.dumps({"message": message}))
                for o in work.rejected
            )
        for p in pending:
            if p.event is not None and not p.event.get("insert_id"):
                p.event["insert_id"] = record.item_id
            items.append(OutboxItem(p.key, order_key(p), record.seq, at_ms, encode_item(p)))
    return items, dead


async def enqueue_records(
    store: Store,
    instance: Instance,
    records: Sequence[LogRecord],
    destination: Destination | Currents | None = None,
) -> int:
    """Durably enqueue what ``records`` give ``instance``; returns how many items."""
    # Mapping is CPU work: off the event loop, so the sender's database round trips and the
    # server's requests in the same process are not held up behind a whole batch.
    items, dead = await asyncio.to_thread(
        work_for_records, instance, records, _now_ms(), destination
    )
    await enqueue(sql_store(store), instance.id, items, dead)
    if items:
        _wake(instance.id).set()
    return len(items)


_BUILT: dict[str, tuple[Any, Destination | Currents]] = {}
"""Per instance id: the body last parsed and what it gave. Consumers are made afresh whenever
the runner refreshes its providers, so the parsed destination (compiled mappings, trigger
memos) is kept here, and reused for as long as the stored body is equal."""


def built_destination(instance: Instance) -> Destination | Currents:
    """``instance.build()``, parsed again only when the instance's body changed."""
    cached = _BUILT.get(instance.id)
    if cached is not None and cached[0] == instance.body:
        return cached[1]
    destination = instance.build()
    _BUILT[instance.id] = (instance.body, destination)
    return destination


def _instance_consumer(instance_id: str, store: Store) -> Consumer:
    async def handle(records: Sequence[LogRecord]) -> None:
        try:
            instance = await get_instance(store, instance_id)
        except NotFoundError:
            _BUILT.pop(instance_id, None)
            return  # deleted meanwhile: the runner stops this consumer at its next refresh
        await enqueue_records(store, instance, records, built_destination(instance))

    return Consumer(cursor_name(instance_id), handle, batch_size=1000, start_at_end=True)


async def instance_consumers(store: Store) -> list[Consumer]:
    """One consumer per enabled instance (the pipeline provider)."""
    return [_instance_consumer(i.id, store) for i in await list_instances(store) if i.enabled]


register_provider("amplitude", instance_consumers)


# ------------------------------------------------------------------------------ outbox → Amplitude


@dataclass(frozen=True, slots=True)
class SenderOptions:
    """Tuning of the sender loop (defaults suit a server).

    ``batch``: flush when ``max_events`` are due or the oldest due one waited ``max_wait_ms``.
    ``poll_seconds``: how often an idle sender looks for rows enqueued by other processes.
    """

    batch: BatchPolicy = field(default_factory=lambda: BatchPolicy(1000, max_wait_ms=1000))
    max_age_ms: int = DEFAULT_MAX_AGE_MS
    timeout_s: float = 10.0
    poll_seconds: float = 0.5
    max_request_events: int = 1000


def _dead_request(request: dict[str, Any] | None, event: dict[str, Any] | None) -> Any:
    """The request kept with a dead letter: the exchange, narrowed to this item's event."""
    if request is None:
        return None
    body = request.get("json")
    if not isinstance(body, dict) or event is None:
        return request
    events = body.get("events") or []
    narrowed = {**body, "events": [event]}
    return {**request, "json": narrowed, "batchEvents": len(events)}


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
            _dead_request(outcome.request, item.event),
            outcome.response,
        )
        return Settle(row.id, dead=dead)
    return None  # paused: the row stays as it is


class InstanceSender:
    """Sends one instance's outbox; one per instance per process (under the sender lease)."""

    def __init__(self, store: Store, instance: Instance, options: SenderOptions) -> None:
        self.store = sql_store(store)
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
        rows = await due(self.store, self.instance.id, now, self.options.batch.max_events)
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
        await settle(self.store, self.instance.id, settled)
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
    wake = _wake(instance_id)
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
    sql = sql_store(store)
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
            if not await acquire_lease(sql, lease, ctx.holder, ctx.lease_ms):
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
            nxt = await next_due_ms(sql, instance_id)
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
            await release_lease(sql, lease, ctx.holder)


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
    """Replace the registered sender service's options (``tidings worker --batch-size ...``)."""
    register_service("amplitude", amplitude_service(options))


# ------------------------------------------------------------------------------ replay


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
) -> ReplayProgress:
    """Enqueue every event of the instance's apps with a timestamp in ``[from_ms, to_ms)``."""
    progress = ReplayProgress()
    for app_id in instance.app_ids:
        after = 0
        while True:
            records = await store.read_time_range(
                app_id, from_ms, to_ms, after_seq=after, limit=page, kind="event"
            )
            if not records:
                break
            progress.items += await enqueue_records(store, instance, records)
            progress.records += len(records)
            progress.last_timestamp = records[-1].timestamp
            after = records[-1].seq
            if on_progress is not None:
                on_progress(progress)
    return progress


async def run_pending_replays(store: Store, instance: Instance) -> int:
    """Run the replay requests the admin API recorded for ``instance``; returns how many.

    The sender calls this while it holds the instance's lease, so one process runs each.
    """
    collection = f"{REPLAYS}:{instance.id}"
    count = 0
    for doc in await store.list_documents(collection):
        if doc.body.get("status") != "pending":
            continue
        body = dict(doc.body)
        done = await replay(store, instance, int(body["from"]), int(body["to"]))
        body.update(status="done", records=done.records, items=done.items, doneAt=_now_ms())
        await store.put_document(collection, doc.id, body)
        count += 1
    return count
