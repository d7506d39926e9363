"""Event-log consumers and the runner that drives them.

A **consumer** is a name and a handler. The name is its cursor in the store: it must stay stable
forever (renaming it replays the whole log into that consumer). The handler takes a batch of
:class:`~tidings.storage.LogRecord` in sequence order and returns once the batch is durably
handled (written to an outbox, a file synced, a webhook acknowledged); only then does the runner
commit the cursor past it. So delivery is **at least once**: after a crash, a lost lease or a
handler error the same records come again, and handlers must be idempotent (an outbox keyed by
event id, an ``insert_id``...).

Handlers may be coroutine functions (run on the event loop) or plain functions (run on a worker
thread, for sinks that block on disk or network). A handler that raises leaves the cursor where
it was; the runner logs it and retries the batch with exponential backoff.

A runner is given its consumers explicitly (``tidings.pipeline.build_pipeline`` lists the
built-in ones): fixed :class:`Consumer` objects, **providers** for sets that depend on
configuration (one consumer per stream sink or destination instance: an async function of the
store returning consumers, asked again every ``refresh_seconds`` so instances created or deleted
at runtime come and go), and **services**, long-running loops that are not log consumers (an
outbox sender), started and stopped with the consumers.

**Several processes.** ``tidings serve`` runs the runner in the background unless
``--no-pipeline``; ``tidings worker`` runs it alone. On a database shared by several processes
each consumer is driven by one process at a time: the runner holds a lease named after the
consumer (the store's lease role) and commits the cursor only in the same transaction that checks it
still holds that lease. A process that dies lets its leases expire (``lease_ms``) and another one
takes over from the committed cursor.

**Partitions.** On a partitioned log (JetStream) each consumer runs as one consumer per
partition (cursor and lease ``<name>@p<n>``), so the partitions of one sink or destination are
driven by several processes at once while each device's records stay in order. Processes
announce themselves with a membership lease (``pipeline-member:<holder>``); each takes at most
``ceil(partitions / live members)`` partitions of a consumer and gives back what is over that
share, so partitions spread out when a process joins and are taken over (after ``lease_ms``)
when one leaves or dies. Free partitions are claimed in an order the members agree on without
talking: partition ``p`` goes first to the member ranked ``p % members`` (live members sorted by
holder id), the others try it one pause later. Without that, every process would reach for
partitions 0, 1, 2... at once, one would win most of them, and the rest would wait a pause.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tidings.core.partitions import partition_cursor, split_cursor
from tidings.storage import LogRecord, Store
from tidings.storage.logstatus import MEMBER_PREFIX

_log = logging.getLogger("tidings.pipeline")

Handler = Callable[[Sequence[LogRecord]], Awaitable[None] | None]
"""Handles one batch; returns when it is durably handled, raises to have it retried."""

Provider = Callable[[Store], Awaitable[Sequence["Consumer"]]]
"""Builds the consumers that current configuration asks for (one per sink, per instance...)."""

Service = Callable[[Store, "ServiceContext"], Awaitable[None]]
"""A background loop run next to the consumers; returns when ``context.stopping`` is set."""


@dataclass(frozen=True, slots=True)
class Consumer:
    """A named cursor and the handler fed from it.

    ``start_at_end``: a consumer seen for the first time starts at the current end of the log
    instead of at its beginning (a destination added today gets today's events; history is a
    replay).
    """

    name: str
    handle: Handler
    batch_size: int = 500
    start_at_end: bool = False


@dataclass(slots=True)
class ServiceContext:
    """What a service gets from the runner: when to stop, and the process's lease identity."""

    stopping: asyncio.Event
    holder: str
    lease_ms: int

    async def sleep(self, seconds: float) -> bool:
        """Sleep, waking early when the runner stops; returns whether it is stopping."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), seconds)
        return self.stopping.is_set()


def process_holder() -> str:
    """A lease holder id unique to this runner: host, pid and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(slots=True)
class ConsumerStatus:
    """What one consumer did in this process (for logs, ``/metrics`` and tests)."""

    name: str
    batches: int = 0
    records: int = 0
    errors: int = 0
    last_error: str = ""
    leased: bool = False


@dataclass(slots=True)
class _Running:
    consumer: Consumer
    task: asyncio.Task[None]
    status: ConsumerStatus


@dataclass(slots=True)
class PipelineRunner:
    """Drives consumers from the event log and runs the services, until :meth:`stop`.

    ``consumers`` / ``providers`` / ``services`` are what it runs (none by default). ``lease_ms``
    is how long a lease lives without renewal (a dead process's consumers resume after that);
    ``idle_seconds`` bounds how long a caught-up consumer waits on ``wait_for_append``.
    """

    store: Store
    consumers: Sequence[Consumer] = ()
    providers: Sequence[Provider] = ()
    services: dict[str, Service] = field(default_factory=dict)
    holder: str = field(default_factory=process_holder)
    lease_ms: int = 15_000
    idle_seconds: float = 1.0
    refresh_seconds: float = 5.0
    max_backoff_seconds: float = 30.0
    status: dict[str, ConsumerStatus] = field(default_factory=dict)
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)
    _running: dict[str, _Running] = field(default_factory=dict)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _prepared: set[str] = field(default_factory=set)
    _members: int = 1
    _rank: int = 0
    _claiming: set[str] = field(default_factory=set)
    """Partitions whose lease this process is acquiring now (counted against its share, so
    tasks acquiring concurrently cannot take more than the share between them)."""

    # ------------------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Start every consumer and service in the background (returns at once)."""
        self._stopping.clear()
        await self._refresh()
        self._tasks.append(asyncio.create_task(self._refresh_loop(), name="pipeline-refresh"))
        if self.store.partitions > 1:
            await self._announce()
            self._tasks.append(asyncio.create_task(self._member_loop(), name="pipeline-members"))
        ctx = ServiceContext(self._stopping, self.holder, self.lease_ms)
        for name, service in self.services.items():
            self._tasks.append(
                asyncio.create_task(self._service(name, service, ctx), name=f"service:{name}")
            )

    async def stop(self) -> None:
        """Ask everything to stop, wait for in-flight batches, give the leases back."""
        self._stopping.set()
        tasks = [r.task for r in self._running.values()] + self._tasks
        await asyncio.gather(*tasks, return_exceptions=True)
        self._running.clear()
        self._tasks.clear()

    async def __aenter__(self) -> PipelineRunner:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def run_until_idle(self, *, rounds: int = 1000) -> None:
        """Feed every consumer until none has anything left (tests, ``tidings worker --once``).

        No leases are taken: meant for a single process driving the log in the foreground.
        """
        for _ in range(rounds):
            busy = False
            for consumer in await self.current_consumers():
                await self._prepare_cursor(consumer)
                status = self.status.setdefault(consumer.name, ConsumerStatus(consumer.name))
                rows = await self.store.read_after(consumer.name, consumer.batch_size)
                if rows:
                    await _call(consumer.handle, rows)
                    await self.store.commit_cursor(consumer.name, rows[-1].seq)
                    status.batches += 1
                    status.records += len(rows)
                    busy = True
            if not busy:
                return

    async def current_consumers(self) -> list[Consumer]:
        """The fixed consumers plus what every provider asks for now; on a partitioned log,
        one per consumer and partition."""
        out: dict[str, Consumer] = {c.name: c for c in self.consumers}
        for provider in self.providers:
            for consumer in await provider(self.store):
                out[consumer.name] = consumer
        parts = self.store.partitions
        if parts <= 1:
            return list(out.values())
        return [
            Consumer(partition_cursor(c.name, p), c.handle, c.batch_size, c.start_at_end)
            for c in out.values()
            for p in range(parts)
        ]

    # ------------------------------------------------------------------------------ members

    async def _announce(self) -> None:
        """Renew this process's membership and count the live members."""
        await self.store.acquire_lease(MEMBER_PREFIX + self.holder, self.holder, self.lease_ms)
        at = int(time.time() * 1000)
        leases = await self.store.list_leases()
        live = sorted(
            x.holder for x in leases if x.name.startswith(MEMBER_PREFIX) and x.expires_at > at
        )
        self._members = max(1, len(live))
        self._rank = live.index(self.holder) if self.holder in live else 0

    async def _member_loop(self) -> None:
        ctx = ServiceContext(self._stopping, self.holder, self.lease_ms)
        try:
            while not await ctx.sleep(self.lease_ms / 3000):
                try:
                    await self._announce()
                except Exception as exc:
                    _log.warning("pipeline: membership renewal failed: %s", exc)
        finally:
            with contextlib.suppress(Exception):
                await self.store.release_lease(MEMBER_PREFIX + self.holder, self.holder)

    def _share(self) -> int:
        """How many partitions of one consumer this process may hold."""
        return -(-self.store.partitions // self._members)

    def _held(self, base: str, *, claims: bool) -> int:
        return sum(
            1
            for name, running in self._running.items()
            if split_cursor(name)[0] == base
            and (running.status.leased or (claims and name in self._claiming))
        )

    def _over_share(self, name: str, leased: bool) -> bool:
        """Whether this process should not (or no longer) hold the partition ``name``."""
        base, partition = split_cursor(name)
        if partition is None or self.store.partitions <= 1:
            return False
        if leased:
            return self._held(base, claims=False) > self._share()
        return self._held(base, claims=True) >= self._share()

    def _first_dibs(self, name: str) -> bool:
        """Whether this process is the member a free partition ``name`` goes to first."""
        partition = split_cursor(name)[1]
        return partition is None or partition % self._members == self._rank

    # ------------------------------------------------------------------------------ internals

    async def _refresh(self) -> None:
        try:
            wanted = {c.name: c for c in await self.current_consumers()}
        except Exception:
            _log.exception("pipeline: reading the consumer configuration failed")
            return
        for name, running in list(self._running.items()):
            if name not in wanted or running.task.done():
                running.task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await running.task
                del self._running[name]
        for name, consumer in wanted.items():
            if name not in self._running:
                status = self.status.setdefault(name, ConsumerStatus(name))
                task = asyncio.create_task(self._drive(consumer, status), name=f"consumer:{name}")
                self._running[name] = _Running(consumer, task, status)

    async def _refresh_loop(self) -> None:
        ctx = ServiceContext(self._stopping, self.holder, self.lease_ms)
        while not await ctx.sleep(self.refresh_seconds):
            await self._refresh()

    async def _prepare_cursor(self, consumer: Consumer) -> None:
        if not consumer.start_at_end or consumer.name in self._prepared:
            return
        cursors = await self.store.list_cursors()
        if consumer.name not in cursors:
            # A partition cursor starts where its consumer's own cursor was put when the
            # consumer was made (a sink's creation), so records appended between its creation
            # and this process's first look are not skipped; else at the log's end.
            base, partition = split_cursor(consumer.name)
            start = cursors.get(base) if partition is not None else None
            if start is None:
                start = await self.store.last_seq()
            await self.store.commit_cursor(consumer.name, start)
        self._prepared.add(consumer.name)

    async def _drive(self, consumer: Consumer, status: ConsumerStatus) -> None:
        """One consumer's loop: hold the lease, read, handle, commit (fenced), wait."""
        ctx = ServiceContext(self._stopping, self.holder, self.lease_ms)
        backoff = 0.5
        deferred = False
        try:
            while not self._stopping.is_set():
                if self._over_share(consumer.name, status.leased):
                    if status.leased:  # give it back: another process is short of its share
                        status.leased = False
                        await self.store.release_lease(consumer.name, self.holder)
                    if await ctx.sleep(self.lease_ms / 3000):
                        break
                    continue
                if not status.leased and not deferred and not self._first_dibs(consumer.name):
                    deferred = True  # the member it falls to first gets a pause to take it
                    if await ctx.sleep(self.lease_ms / 3000):
                        break
                    continue
                if not status.leased:
                    self._claiming.add(consumer.name)
                try:
                    status.leased = await self.store.acquire_lease(
                        consumer.name, self.holder, self.lease_ms
                    )
                finally:
                    self._claiming.discard(consumer.name)
                if not status.leased:
                    if await ctx.sleep(self.lease_ms / 3000):
                        break
                    continue
                try:
                    await self._prepare_cursor(consumer)
                    rows = await self.store.read_after(consumer.name, consumer.batch_size)
                    if rows:
                        await _call(consumer.handle, rows)
                        if not await self.store.commit_cursor_leased(
                            consumer.name, rows[-1].seq, self.holder
                        ):
                            _log.warning("pipeline %s: lease lost, batch left", consumer.name)
                            continue
                        status.batches += 1
                        status.records += len(rows)
                        backoff = 0.5
                        continue
                except Exception as exc:
                    status.errors += 1
                    status.last_error = str(exc)
                    _log.warning("pipeline %s: batch failed, retrying: %s", consumer.name, exc)
                    if await ctx.sleep(backoff):
                        break
                    backoff = min(backoff * 2, self.max_backoff_seconds)
                    continue
                await self._wait_append(consumer.name)
        finally:
            if status.leased:
                with contextlib.suppress(Exception):
                    await self.store.release_lease(consumer.name, self.holder)
                status.leased = False

    async def _wait_append(self, cursor: str) -> None:
        after = await self.store.caught_up_to(cursor)
        waiter = asyncio.create_task(self.store.wait_for_append(after, self.idle_seconds))
        stopper = asyncio.create_task(self._stopping.wait())
        try:
            await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (waiter, stopper):
                task.cancel()
            await asyncio.gather(waiter, stopper, return_exceptions=True)

    async def _service(self, name: str, service: Service, ctx: ServiceContext) -> None:
        backoff = 0.5
        while not self._stopping.is_set():
            try:
                await service(self.store, ctx)
                return
            except Exception:
                _log.exception("pipeline service %s failed, restarting", name)
                if await ctx.sleep(backoff):
                    return
                backoff = min(backoff * 2, self.max_backoff_seconds)


async def _call(handler: Handler, rows: Sequence[LogRecord]) -> None:
    if inspect.iscoroutinefunction(handler):
        await handler(rows)
        return
    result: Any = await asyncio.to_thread(handler, rows)
    if inspect.isawaitable(result):
        await result
