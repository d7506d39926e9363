"""Amplitude on the pipeline, log side: each instance's consumer maps log records and sends them.

**Consumer** ``destination:{id}`` (one per enabled instance): each event-log record of the
instance's apps becomes its canonical message and ``Destination.work`` turns it into items.
A large enough batch is sent straight to Amplitude and only what must wait is written to the
outbox (:mod:`tidings.pipeline.amplitude_direct`); a small one, or any batch of a paused
instance, is written to the outbox whole. Either way the outbox rows and mapping failures (as
dead letters) are committed in one transaction before the handler returns, and the cursor moves
only after that. Redelivered batches enqueue nothing twice (``item_key`` is unique) and send
nothing Amplitude counts twice (``insert_id`` is the event id).
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Sequence
from functools import partial
from typing import Any

import orjson

from tidings.core.errors import InvalidInput
from tidings.destinations.amplitude import AmplitudeSender, Currents, Destination, Pending
from tidings.destinations.amplitude.items import order_key
from tidings.destinations.amplitude.shared import SharedMessages
from tidings.pipeline.amplitude_direct import DirectOptions, Mapped, queued_item, send_direct
from tidings.pipeline.base import Consumer, Provider
from tidings.pipeline.instances import (
    Instance,
    cursor_name,
    get_instance,
    list_instances,
    set_paused,
)
from tidings.storage import LogRecord, NotFoundError, Store
from tidings.storage.outbox import DeadLetterIn, OutboxItem, enqueue, waiting_order_keys
from tidings.storage.sqlstore import SqlStore

MAX_REQUEST_EVENTS = 1000


def _now_ms() -> int:
    return int(time.time() * 1000)


_WAKE: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Event]] = (
    weakref.WeakKeyDictionary()
)
"""Per event loop (events bind to the loop that first waits on them), per instance."""


def wake_event(instance_id: str) -> asyncio.Event:
    """The event this process's sender of ``instance_id`` waits on between polls."""
    events = _WAKE.setdefault(asyncio.get_running_loop(), {})
    event = events.get(instance_id)
    if event is None:
        event = events[instance_id] = asyncio.Event()
    return event


def wake(instance_id: str) -> None:
    """Tell this process's sender of ``instance_id`` that rows were enqueued (others poll)."""
    wake_event(instance_id).set()


def sql_store(store: Store) -> SqlStore:
    if not isinstance(store, SqlStore):
        raise TypeError("Amplitude delivery needs a SQL store")
    return store


def _map_currents(
    currents: Currents, records: Sequence[LogRecord], apps: set[str], at_ms: int
) -> tuple[list[Mapped], list[DeadLetterIn]]:
    """:func:`map_records` in Currents mode, which exports decisions too (impressions,
    control-group enrollments); the shows among them are noted first, for the clicks."""
    payloads: list[tuple[LogRecord, Any]] = []
    dead: list[DeadLetterIn] = []
    for record in records:
        if record.app_id not in apps:
            continue
        try:
            payloads.append((record, orjson.loads(record.payload)))
        except orjson.JSONDecodeError as exc:
            dead.append(DeadLetterIn(f"seq:{record.seq}", 0, f"unreadable log row: {exc}", b"{}"))
    currents.remember_shows((r.app_id, p) for r, p in payloads if r.kind == "decision")
    items: list[Mapped] = []
    for record, payload in payloads:
        try:
            events = currents.record_events(record.kind, payload, record.app_id)
        except (InvalidInput, TypeError, ValueError) as exc:
            dead.append(DeadLetterIn(f"seq:{record.seq}", 0, f"unreadable log row: {exc}", b"{}"))
            continue
        for n, event in enumerate(events):
            if not event.get("insert_id"):
                event["insert_id"] = record.item_id
            p = Pending(f"{record.item_id}/currents/{n}", at_ms, event=event)
            items.append((p, order_key(p), record.seq))
    return items, dead


async def load_campaigns(store: Store, instance: Instance, currents: Currents) -> None:
    """Give a Currents instance the campaigns of its apps (names, treatments)."""
    stored = [c for app_id in instance.app_ids for c in await store.list_campaigns(app_id)]
    currents.book.load((c.id, c.body) for c in stored)


def map_records(
    instance: Instance,
    records: Sequence[LogRecord],
    at_ms: int,
    destination: Destination | Currents | None = None,
) -> tuple[list[Mapped], list[DeadLetterIn]]:
    """The items log records give ``instance`` (with order key and ``seq``), and mapping-time
    dead letters. Pure CPU: callers run it on a worker thread.

    ``destination``: ``instance.build()`` made earlier (parsing subscriptions is not free).
    """
    if destination is None:
        destination = instance.build()
    apps = set(instance.app_ids)
    if isinstance(destination, Currents):
        return _map_currents(destination, records, apps, at_ms)
    items: list[Mapped] = []
    dead: list[DeadLetterIn] = []
    messages = SharedMessages()
    for record in records:
        if record.app_id not in apps or record.kind != "event":
            continue
        try:
            message, shared = messages.message(
                record.kind, record.payload, record.prefix, record.device_id, record.user_id
            )
        except (orjson.JSONDecodeError, InvalidInput, TypeError, ValueError) as exc:
            dead.append(DeadLetterIn(f"seq:{record.seq}", 0, f"unreadable log row: {exc}", b"{}"))
            continue
        if message is None:
            continue
        work = destination.work(message, at_ms, shared)
        pending = work.items
        if work.rejected:
            dead.extend(
                DeadLetterIn(o.key, 0, o.reason, orjson.dumps({"message": message}))
                for o in work.rejected
            )
        for p in pending:
            if p.event is not None and not p.event.get("insert_id"):
                p.event["insert_id"] = record.item_id
            items.append((p, order_key(p), record.seq))
    return items, dead


def work_for_records(
    instance: Instance,
    records: Sequence[LogRecord],
    at_ms: int,
    destination: Destination | Currents | None = None,
) -> tuple[list[OutboxItem], list[DeadLetterIn]]:
    """:func:`map_records` as outbox rows due now (pure, for tests and replay)."""
    items, dead = map_records(instance, records, at_ms, destination)
    return [queued_item(m, at_ms) for m in items], dead


async def enqueue_records(
    store: Store,
    instance: Instance,
    records: Sequence[LogRecord],
    destination: Destination | Currents | None = None,
) -> int:
    """Durably enqueue what ``records`` give ``instance``; returns how many items."""
    if destination is None:
        destination = instance.build()
        if isinstance(destination, Currents):
            await load_campaigns(store, instance, destination)
    # Mapping is CPU work: off the event loop, so the sender's database round trips and the
    # server's requests in the same process are not held up behind a whole batch.
    items, dead = await asyncio.to_thread(
        work_for_records, instance, records, _now_ms(), destination
    )
    await enqueue(sql_store(store), instance.id, items, dead)
    if items:
        wake_event(instance.id).set()
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


_SENDERS: dict[str, tuple[Any, AmplitudeSender]] = {}
"""Per instance id: the settings and the sender of the consumer's direct sends (its connection
and its rate limiter live as long as the settings do)."""


def direct_sender(instance: Instance, destination: Destination | Currents) -> AmplitudeSender:
    """The consumer's own sender for ``instance`` (made again when the settings change)."""
    settings = instance.body.get("settings")
    cached = _SENDERS.get(instance.id)
    if cached is not None and cached[0] == settings:
        return cached[1]
    if cached is not None:
        cached[1].close()
    sender = AmplitudeSender(destination.settings, max_batch_events=MAX_REQUEST_EVENTS)
    _SENDERS[instance.id] = (settings, sender)
    return sender


def _forget(instance_id: str) -> None:
    _BUILT.pop(instance_id, None)
    cached = _SENDERS.pop(instance_id, None)
    if cached is not None:
        cached[1].close()


async def deliver_records(
    store: Store,
    instance: Instance,
    records: Sequence[LogRecord],
    destination: Destination | Currents,
    options: DirectOptions,
) -> None:
    """Handle one log batch for ``instance``: send it straight, or enqueue it (see the module).

    Returns once everything not delivered is committed to the outbox or the dead letters.
    """
    sql = sql_store(store)
    apps = set(instance.app_ids)
    count = sum(1 for r in records if r.app_id in apps and r.kind == "event")
    waiting: set[str] | None = None
    if instance.active and count >= options.min_events:
        waiting = await waiting_order_keys(sql, instance.id, options.max_waiting_keys)
    if waiting is None:
        await enqueue_records(store, instance, records, destination)
        return
    at = _now_ms()
    step = max(1, options.chunk_events)
    chunks = [records[i : i + step] for i in range(0, len(records), step)]
    mapper = partial(map_records, instance, at_ms=at, destination=destination)
    sender = direct_sender(instance, destination)
    sender.resume()  # the instance is active: a pause this sender saw was lifted since
    result = await send_direct(sender, chunks, mapper, waiting, at)
    await enqueue(sql, instance.id, result.queued, result.dead)
    if result.queued:
        wake_event(instance.id).set()
    if result.paused is not None:
        await set_paused(store, instance.id, result.paused, at)


def _instance_consumer(instance_id: str, store: Store, options: DirectOptions) -> Consumer:
    async def handle(records: Sequence[LogRecord]) -> None:
        try:
            instance = await get_instance(store, instance_id)
        except NotFoundError:
            _forget(instance_id)
            return  # deleted meanwhile: the runner stops this consumer at its next refresh
        destination = built_destination(instance)
        if isinstance(destination, Currents):
            await load_campaigns(store, instance, destination)
        await deliver_records(store, instance, records, destination, options)

    return Consumer(
        cursor_name(instance_id), handle, batch_size=options.batch_records, start_at_end=True
    )


def consumers_provider(options: DirectOptions | None = None) -> Provider:
    """A pipeline provider: one consumer per enabled instance, sending as ``options`` say."""
    opts = options or DirectOptions()

    async def provide(store: Store) -> list[Consumer]:
        return [
            _instance_consumer(i.id, store, opts) for i in await list_instances(store) if i.enabled
        ]

    return provide


async def instance_consumers(store: Store) -> list[Consumer]:
    """One consumer per enabled instance, with the default :class:`DirectOptions`."""
    return list(await _DEFAULT_PROVIDER(store))


_DEFAULT_PROVIDER = consumers_provider()
