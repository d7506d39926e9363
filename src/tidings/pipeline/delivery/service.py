"""Delivery in one process: the consumers and senders of every destination, and their caches.

A :class:`Deliveries` object is what the pipeline is given (``build_pipeline`` makes one): its
:meth:`~Deliveries.consumers` provider yields one log consumer per enabled instance, its
:meth:`~Deliveries.service` runs one outbox sender per active instance, and it owns what they
keep between batches: the parsed destination of each instance (compiled mappings, trigger
memos) while its stored body is unchanged, the consumer's own sender (connection, limiter) while
its settings are unchanged, and the events that wake a sender when rows were enqueued here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import Sequence
from typing import Any

from tidings.destinations.kind import Destination, Sender
from tidings.pipeline.delivery.consumer import deliver_records
from tidings.pipeline.delivery.instances import (
    Instance,
    cursor_name,
    get_instance,
    list_instances,
    sender_lease,
)
from tidings.pipeline.delivery.outbox import InstanceSender, SenderOptions
from tidings.pipeline.delivery.replay import run_pending_replays
from tidings.pipeline.runner import Consumer, ServiceContext
from tidings.storage import LogRecord, NotFoundError, Store

_log = logging.getLogger("tidings.pipeline.delivery")

MAX_DIRECT_REQUEST_EVENTS = 1000


class Deliveries:
    """Every destination's delivery in this process, sending as ``options`` say."""

    def __init__(self, options: SenderOptions | None = None) -> None:
        self.options = options or SenderOptions()
        self._built: dict[str, tuple[Any, Destination]] = {}
        self._senders: dict[str, tuple[Any, Sender]] = {}
        self._wake: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[str, asyncio.Event]
        ] = weakref.WeakKeyDictionary()

    # ------------------------------------------------------------------------- caches

    def built(self, instance: Instance) -> Destination:
        """``instance.build()``, parsed again only when the instance's body changed."""
        cached = self._built.get(instance.id)
        if cached is not None and cached[0] == instance.body:
            return cached[1]
        destination = instance.build()
        self._built[instance.id] = (instance.body, destination)
        return destination

    def direct_sender(self, instance: Instance, destination: Destination) -> Sender:
        """The consumer's own sender for ``instance`` (made again when the settings change)."""
        settings = instance.body.get("settings")
        cached = self._senders.get(instance.id)
        if cached is not None and cached[0] == settings:
            return cached[1]
        if cached is not None:
            cached[1].close()
        most = min(MAX_DIRECT_REQUEST_EVENTS, self.options.max_request_events)
        options = self.options.send_options(most)
        sender = destination.sender(options)
        self._senders[instance.id] = (settings, sender)
        return sender

    def forget(self, instance_id: str) -> None:
        """Drop what is kept for a deleted instance."""
        self._built.pop(instance_id, None)
        cached = self._senders.pop(instance_id, None)
        if cached is not None:
            cached[1].close()

    def close(self) -> None:
        """Close every kept sender (the runner stopped)."""
        for instance_id in list(self._senders):
            self.forget(instance_id)

    def wake_event(self, instance_id: str) -> asyncio.Event:
        """The event this process's sender of ``instance_id`` waits on between polls (per
        event loop: an event binds to the loop that first waits on it)."""
        events = self._wake.setdefault(asyncio.get_running_loop(), {})
        event = events.get(instance_id)
        if event is None:
            event = events[instance_id] = asyncio.Event()
        return event

    def wake(self, instance_id: str) -> None:
        """Tell this process's sender of ``instance_id`` that rows were enqueued."""
        self.wake_event(instance_id).set()

    # ------------------------------------------------------------------------- consumers

    def _consumer(self, instance_id: str, store: Store) -> Consumer:
        async def handle(records: Sequence[LogRecord]) -> None:
            try:
                instance = await get_instance(store, instance_id)
            except NotFoundError:
                self.forget(instance_id)
                return  # deleted meanwhile: the runner stops this consumer at its next refresh
            destination = self.built(instance)
            await deliver_records(
                store,
                instance,
                records,
                destination,
                self.options.direct,
                lambda: self.direct_sender(instance, destination),
                self.wake,
                clock=self.options.clock,
            )

        return Consumer(
            cursor_name(instance_id),
            handle,
            batch_size=self.options.direct.batch_records,
            start_at_end=True,
        )

    async def consumers(self, store: Store) -> list[Consumer]:
        """A pipeline provider: one consumer per enabled instance."""
        return [self._consumer(i.id, store) for i in await list_instances(store) if i.enabled]

    # ------------------------------------------------------------------------- senders

    async def _wait(self, ctx: ServiceContext, instance_id: str, seconds: float) -> None:
        wake = self.wake_event(instance_id)
        stopper = asyncio.create_task(ctx.stopping.wait())
        waker = asyncio.create_task(wake.wait())
        try:
            await asyncio.wait(
                {stopper, waker}, timeout=seconds, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            wake.clear()
            for task in (stopper, waker):
                task.cancel()
            await asyncio.gather(stopper, waker, return_exceptions=True)

    async def _run_instance(self, store: Store, instance_id: str, ctx: ServiceContext) -> None:
        options = self.options
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
                if await run_pending_replays(store, instance, options.clock):
                    self.wake(instance_id)
                if await sender.step():
                    continue
                nxt = await store.next_due_ms(instance_id)
                wait = options.poll_seconds
                if nxt is not None:
                    until_due = (nxt - options.clock()) / 1000
                    flush_in = options.batch.max_wait_ms / 1000
                    wait = max(0.005, min(wait, max(until_due, 0.0) + 0.001, flush_in))
                await self._wait(ctx, instance_id, wait)
        finally:
            if sender is not None:
                sender.close()
            with contextlib.suppress(Exception):
                await store.release_lease(lease, ctx.holder)

    async def service(self, store: Store, ctx: ServiceContext) -> None:
        """The sender service: one task per active instance, restarted as instances change."""
        tasks: dict[str, asyncio.Task[None]] = {}
        try:
            while not ctx.stopping.is_set():
                for instance in await list_instances(store):
                    task = tasks.get(instance.id)
                    if instance.active and (task is None or task.done()):
                        if task is not None and task.exception() is not None:
                            _log.warning("destination %s sender failed: %s", instance.id, task)
                        tasks[instance.id] = asyncio.create_task(
                            self._run_instance(store, instance.id, ctx),
                            name=f"destination-sender:{instance.id}",
                        )
                if await ctx.sleep(max(self.options.poll_seconds, 0.2)):
                    break
        finally:
            await asyncio.gather(*tasks.values(), return_exceptions=True)
