"""The log side of delivery: one consumer per enabled destination, sending or enqueueing.

**Consumer** ``destination:{id}``: the records of the instance's apps become the kind's items
(:func:`~tidings.pipeline.delivery.mapping.map_records`). A large enough batch of an active
instance is sent straight to the receiver and only what must wait is written to the outbox
(:mod:`~tidings.pipeline.delivery.direct`); a small one, or any batch of a paused instance, is
written to the outbox whole. Either way the outbox rows and the dead letters are committed in
one transaction before the handler returns, and the cursor moves only after that. Redelivered
batches enqueue nothing twice (``item_key`` is unique) and send nothing the receiver counts
twice (each item carries the id of its log record).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from functools import partial

from tidings.destinations.kind import Clock, Destination, Sender, wall_ms
from tidings.pipeline.delivery.direct import DirectOptions, send_direct
from tidings.pipeline.delivery.instances import Instance, set_paused
from tidings.pipeline.delivery.mapping import map_records, outbox_items
from tidings.storage import DeadLetterIn, LogRecord, OutboxItem, Store
from tidings.streams.accounts import AccountIds


def work_for_records(
    instance: Instance,
    records: Sequence[LogRecord],
    at_ms: int,
    destination: Destination | None = None,
) -> tuple[list[OutboxItem], list[DeadLetterIn]]:
    """What ``records`` give ``instance`` as outbox rows due now, and dead letters (pure)."""
    destination = destination if destination is not None else instance.build()
    mapped, dead = map_records(destination, instance.app_ids, records, at_ms)
    rows, unencodable = outbox_items(destination, mapped, at_ms)
    return rows, dead + unencodable


async def prepare(store: Store, instance: Instance, destination: Destination) -> None:
    """What a destination must know before it maps, read from the store's roles: the campaigns
    of its apps, for a kind whose items name campaigns
    (:class:`~tidings.destinations.kind.UsesCampaigns`), and each app's account, for a kind
    whose items carry it (:class:`~tidings.destinations.kind.UsesAccounts`)."""
    load = getattr(destination, "load_campaigns", None)
    if load is not None:
        load([(c.id, c.body) for a in instance.app_ids for c in await store.list_campaigns(a)])
    load_accounts = getattr(destination, "load_accounts", None)
    if load_accounts is not None:
        load_accounts(await AccountIds(store, ttl_seconds=0).of(instance.app_ids))


async def enqueue_records(
    store: Store,
    instance: Instance,
    records: Sequence[LogRecord],
    destination: Destination | None = None,
    on_enqueued: Callable[[str], None] | None = None,
    *,
    clock: Clock = wall_ms,
) -> int:
    """Durably enqueue what ``records`` give ``instance``; returns how many items (due now, as
    ``clock`` says)."""
    if destination is None:
        destination = instance.build()
    await prepare(store, instance, destination)
    # Mapping is CPU work: off the event loop, so the sender's database round trips and the
    # server's requests in the same process are not held up behind a whole batch.
    items, dead = await asyncio.to_thread(work_for_records, instance, records, clock(), destination)
    await store.enqueue(instance.id, items, dead)
    if items and on_enqueued is not None:
        on_enqueued(instance.id)
    return len(items)


async def deliver_records(  # noqa: PLR0917 - one log batch and what it is delivered with
    store: Store,
    instance: Instance,
    records: Sequence[LogRecord],
    destination: Destination,
    options: DirectOptions,
    sender_of: Callable[[], Sender],
    on_enqueued: Callable[[str], None] | None = None,
    *,
    clock: Clock = wall_ms,
) -> None:
    """Handle one log batch for ``instance``: send it straight, or enqueue it (module docs).

    Returns once everything not delivered is committed to the outbox or the dead letters.
    ``sender_of()`` gives the consumer's own sender for the instance (kept by the caller).
    """
    apps = frozenset(instance.app_ids)
    count = sum(1 for r in records if r.app_id in apps)
    await prepare(store, instance, destination)
    waiting: set[str] | None = None
    if instance.active and count >= options.min_events:
        waiting = await store.waiting_order_keys(instance.id, options.max_waiting_keys)
    if waiting is None:
        await enqueue_records(store, instance, records, destination, on_enqueued, clock=clock)
        return
    at = clock()
    step = max(1, options.chunk_events)
    chunks = [records[i : i + step] for i in range(0, len(records), step)]
    mapper = partial(map_records, destination, instance.app_ids, at_ms=at)
    sender = sender_of()
    sender.resume()  # the instance is active: a pause this sender saw was lifted since
    result = await send_direct(destination, sender, chunks, mapper, waiting, at)
    await store.enqueue(instance.id, result.queued, result.dead)
    if result.queued and on_enqueued is not None:
        on_enqueued(instance.id)
    if result.paused is not None:
        await set_paused(store, instance.id, result.paused, at)
