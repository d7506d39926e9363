"""A store whose event log is a JetStream stream and whose everything else is SQL.

:class:`JetStreamStore` is a :class:`~tidings.storage.roles.Store`: the event-log role (append,
read, ranges, recent) and the reads of the cursor role go to JetStream; configuration, cursor
positions, leases, outbox, dead letters, stored responses, catalogs and stats stay in the
control-plane database (``--db``), which it wraps.

What differs from a SQL log, by design:

* **One message per (append, kind, partition)**, holding every new record of it
  (``codec``). Sequence numbers are positions derived from the stream's sequence: they grow
  strictly in the stream's order, shared by all partitions, so a cursor over the whole log and
  one over a partition count the same way.
* **Deduplication** is JetStream's, by a message id made of the message's record ids, within
  the stream's duplicate window (``?dedup=``): a retried upload (the same records) is stored
  once. The same record inside a different upload is stored again; consumers stay idempotent by
  event id, as at-least-once delivery requires anyway.
* **Lag** counts messages (an upload's records of one partition), which JetStream counts exactly.
* **Request ids**: the items are appended first, then the response is stored in the database,
  the first of concurrent attempts winning; a retried request finds that response. A crash
  between the two only means the retry is answered afresh, its items counted as duplicates.
* **Catalogs and campaign stats** are not written by ``ingest``: the pipeline's counting
  consumer folds them in from the log in batches (``tidings.pipeline.counting``).
* **Cursors named** ``<consumer>@p<n>`` read partition ``n`` only (the subject filter
  ``<prefix>.<n>.*``); other cursors read the whole log.
* **The pipeline's results** (server-campaign decisions, a dead campaign call's failure
  record, the ``conversion`` record of each first conversion) are appended to the stream,
  never to the database's log (:mod:`tidings.storage.jetstream.results`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from typing import Any

from nats.aio.client import Client
from nats.errors import Error as NatsError

from tidings.core.partitions import partition_key, partition_of, split_cursor
from tidings.storage.catalogs import CatalogLimits
from tidings.storage.jetstream import codec
from tidings.storage.jetstream.client import Appender, Outgoing, Readers, connect, ensure_stream
from tidings.storage.jetstream.config import LogUrl
from tidings.storage.jetstream.reading import Tails, scan
from tidings.storage.jetstream.results import LogResults
from tidings.storage.logbatch import LogItem, log_item
from tidings.storage.logrecords import (
    DecisionIn,
    EventIn,
    IngestOutcome,
    IngestResult,
    LogKind,
    LogRecord,
    RenderResponse,
    StoredResponse,
    check_render,
)
from tidings.storage.records import StoreUnavailable
from tidings.storage.sqlstore import SqlStore


class JetStreamStore(LogResults):
    """The event log on JetStream beside a SQL control plane; see the module docstring."""

    poll_interval: float = 0.25
    """Seconds between checks for appends made by other processes."""

    def __init__(self, control: SqlStore, nc: Client, log: LogUrl) -> None:
        self.control = control
        self.log = log
        self.partitions = log.partitions
        self._nc = nc
        self._js = nc.jetstream()
        self._appender = Appender(nc)
        self._readers = Readers(nc, log.stream)
        self._tails = Tails(nc, self._readers)
        self._waiters: set[asyncio.Future[None]] = set()
        self._appends = 0
        """Appends made through this store, so a look at the stream's end begun before one is
        not taken for news of it."""
        self._looked: tuple[int, float, int] | None = None
        """The last look at the stream's end for waiters: (appends then, loop time, seq)."""
        self._looking: tuple[int, asyncio.Task[int]] | None = None
        self._inflight: dict[tuple[str, str], asyncio.Future[IngestResult]] = {}
        self._caught_up: dict[str, int] = {}
        self._flushed: set[str] = set()

    @property
    def backend(self) -> str:
        return self.control.backend

    log_backend = "jetstream"
    counts_on_append = False

    @classmethod
    async def open(cls, control: SqlStore, log: LogUrl, *, create: bool = True) -> JetStreamStore:
        nc = await connect(log)
        try:
            await ensure_stream(nc, log, create=create)
            store = cls(control, nc, log)
            await store._appender.start()
        except NatsError as exc:
            # Reachable, but JetStream did not answer: not enabled on the server, or no leader
            # yet (a cluster just started or re-electing). One line, as an unreachable log is.
            await nc.close()
            raise StoreUnavailable(
                f"the event log at {log.display()} did not answer"
                f" ({type(exc).__name__}: is JetStream enabled, and has it a leader?)"
            ) from exc
        except BaseException:
            await nc.close()
            raise
        return store

    def __getattr__(self, name: str) -> Any:
        # Every role but the log's is the control plane's.
        return getattr(self.control, name)

    # ------------------------------------------------------------------------ lifecycle

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self._tails.close()
        with contextlib.suppress(Exception):
            await self._nc.drain()
        await self.control.close()

    async def __aenter__(self) -> JetStreamStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def health(self) -> str | None:
        if not self._nc.is_connected:
            return f"the event log at {self.log.display()} is unreachable"
        return await self.control.health()

    async def ping(self) -> bool:
        return self._nc.is_connected and await self.control.ping()

    # ------------------------------------------------------------------------ appends

    def _outgoing(
        self,
        app_id: str,
        kind: LogKind,
        items: Sequence[EventIn] | Sequence[DecisionIn],
        *,
        arrival_ms: int,
        flags: list[bool],
        out: list[Outgoing],
        where: list[list[int]],
    ) -> None:
        """Add the messages of ``items`` to ``out``: one per partition they fall in (more when
        one would be too big). ``flags`` gets one per item (False for a repeat within the call),
        ``where`` the flag indices of each message's items."""
        seen: set[str] = set()
        parts = self.partitions
        grouped: dict[int, tuple[list[LogItem], list[int]]] = {}
        for item in items:
            if item.id in seen:
                flags.append(False)  # a repeat within the request is not sent twice
                continue
            seen.add(item.id)
            p = partition_of(app_id, partition_key(item.device_id, item.user_id), parts)
            group = grouped.get(p)
            if group is None:
                group = grouped[p] = ([], [])
            group[0].append(log_item(item))
            group[1].append(len(flags))
            flags.append(True)
        budget = self._message_budget()
        for p, (rows, indices) in grouped.items():
            subject = codec.subject(self.log.prefix, p, app_id)
            done = 0
            for chunk in codec.chunks(rows, budget):
                body = codec.encode(app_id, kind, arrival_ms, chunk)
                out.append((subject, codec.message_id(app_id, kind, chunk), body))
                where.append(indices[done : done + len(chunk)])
                done += len(chunk)

    def _message_budget(self) -> int:
        """Bytes of records one message may carry: the server's payload limit, less room for
        the per-record columns' estimate to be off."""
        return max(4096, int(self._nc.max_payload * 0.9) - 4096)

    async def ingest(
        self,
        app_id: str,
        events: Sequence[EventIn],
        decisions: Sequence[DecisionIn] = (),
        *,
        arrival_ms: int,
        request_id: str | None = None,
        render: RenderResponse | None = None,
        custom_properties: Mapping[str, Any] | None = None,
        catalog_limits: CatalogLimits | None = None,
        request_hash: bytes | None = None,
    ) -> IngestResult:
        check_render(request_id, render)
        if request_id is None:
            return await self._append(app_id, events, decisions, arrival_ms=arrival_ms)
        key = (app_id, request_id)
        running = self._inflight.get(key)
        if running is not None:  # the same request, concurrently, in this process
            first = await asyncio.shield(running)
            return IngestResult(first.response, None, True)
        future: asyncio.Future[IngestResult] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            stored = await self.control.stored_response(app_id, request_id)
            if stored is not None:
                result = IngestResult(stored, None, True)
            else:
                result = await self._append(
                    app_id,
                    events,
                    decisions,
                    arrival_ms=arrival_ms,
                    request_id=request_id,
                    render=render,
                    request_hash=request_hash,
                )
            future.set_result(result)
            return result
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters get it through shield
            raise
        finally:
            del self._inflight[key]

    async def append_kind(
        self,
        app_id: str,
        kind: LogKind,
        items: Sequence[EventIn] | Sequence[DecisionIn],
        *,
        arrival_ms: int,
    ) -> list[bool]:
        """Append ``items`` as records of ``kind`` (each into its device's, else user's,
        partition); per-item ``stored now`` flags (False for a repeat within the call or a
        message JetStream already held within its duplicate window)."""
        (flags,) = await self._publish(app_id, [(kind, items)], arrival_ms=arrival_ms)
        return flags

    async def _publish(
        self,
        app_id: str,
        batches: Sequence[tuple[LogKind, Sequence[EventIn] | Sequence[DecisionIn]]],
        *,
        arrival_ms: int,
    ) -> list[list[bool]]:
        """Append each ``(kind, items)`` of ``batches`` in one round of publishes; per batch,
        its items' ``stored now`` flags."""
        out: list[Outgoing] = []
        flags: list[list[bool]] = []
        owners: list[tuple[list[bool], list[int]]] = []
        for kind, items in batches:
            mine: list[bool] = []
            where: list[list[int]] = []
            self._outgoing(
                app_id, kind, items, arrival_ms=arrival_ms, flags=mine, out=out, where=where
            )
            flags.append(mine)
            owners.extend((mine, indices) for indices in where)
        acks = await self._appender.append(out) if out else []
        for (mine, indices), (_, duplicate) in zip(owners, acks, strict=True):
            if duplicate:
                for index in indices:
                    mine[index] = False
        if acks:
            self._wake()
        return flags

    async def _append(
        self,
        app_id: str,
        events: Sequence[EventIn],
        decisions: Sequence[DecisionIn],
        *,
        arrival_ms: int,
        request_id: str | None = None,
        render: RenderResponse | None = None,
        request_hash: bytes | None = None,
    ) -> IngestResult:
        event_flags, decision_flags = await self._publish(
            app_id, [("event", events), ("decision", decisions)], arrival_ms=arrival_ms
        )
        outcome = IngestOutcome(events=event_flags, decisions=decision_flags)
        if request_id is None or render is None:
            return IngestResult(None, outcome, False)
        made = render(outcome)
        response = StoredResponse(made.status, made.body, request_hash)
        kept, mine = await self.control.keep_response(app_id, request_id, response, arrival_ms)
        if not mine:
            return IngestResult(kept, None, True)
        return IngestResult(kept, outcome, False)

    async def stored_response(self, app_id: str, request_id: str) -> StoredResponse | None:
        return await self.control.stored_response(app_id, request_id)

    async def prune_responses(self, older_than_ms: int) -> int:
        return await self.control.prune_responses(older_than_ms)

    # ------------------------------------------------------------------------ reads

    async def last_seq(self) -> int:
        """The position of the log's last record."""
        return codec.end_position(await self._stream_end())

    async def _stream_end(self) -> int:
        try:
            info = await self._js.stream_info(self.log.stream)
        except Exception as exc:
            raise StoreUnavailable(f"the event log is unreachable: {exc!r}") from exc
        return int(info.state.last_seq)

    async def _end_for_waiters(self) -> int:
        """The stream's end as consumers waiting for appends see it: one ``stream_info`` per
        poll interval shared by every waiter of this process, and a fresh one after an append
        made here. Each idle partition consumer asking on its own made an idle worker's CPU grow
        with partitions times consumers (16 partitions, two consumers: ~5% of a core)."""
        loop = asyncio.get_running_loop()
        looked = self._looked
        if (
            looked is not None
            and looked[0] == self._appends
            and loop.time() - looked[1] < self.poll_interval
        ):
            return looked[2]
        looking = self._looking
        if looking is None or looking[0] != self._appends or looking[1].done():
            task = loop.create_task(self._look(self._appends))
            task.add_done_callback(_retrieve)
            looking = self._looking = (self._appends, task)
        return await asyncio.shield(looking[1])

    async def _look(self, appends: int) -> int:
        seq = await self.last_seq()
        self._looked = (appends, asyncio.get_running_loop().time(), seq)
        return seq

    def _wake(self) -> None:
        self._appends += 1
        waiters, self._waiters = self._waiters, set()
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def wait_for_append(self, after_seq: int, timeout: float) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if await self._end_for_waiters() > after_seq:
                return True
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.add(waiter)
            try:
                await asyncio.wait_for(waiter, min(remaining, self.poll_interval))
            except TimeoutError:
                pass
            finally:
                self._waiters.discard(waiter)

    def _filter(self, partition: int | None, app_id: str | None = None) -> str:
        part = "*" if partition is None else str(partition)
        app = "*" if app_id is None else codec.subject_token(app_id)
        return f"{self.log.prefix}.{part}.{app}"

    async def read_log(self, after_seq: int, limit: int = 1000) -> list[LogRecord]:
        records, _ = await self._tails.read("", self._filter(None), after_seq, limit)
        return records

    async def read_after(self, cursor: str, limit: int = 1000) -> list[LogRecord]:
        if cursor not in self._flushed:
            # Results a process that died left queued for this cursor reach the log now, not
            # only when the partition's next records come (once per cursor and process).
            await self.flush_pending(cursor)
            self._flushed.add(cursor)
        position = await self.control.get_cursor(cursor)
        _, partition = split_cursor(cursor)
        if partition is not None and partition >= self.partitions:
            return []
        records, _ = await self._tails.read(cursor, self._filter(partition), position, limit)
        if records:
            self._caught_up.pop(cursor, None)
        else:
            # Found nothing after ``position``: what its partition holds up to the stream's end
            # is consumed. (An append landing between the read and this look is seen at the
            # consumer's next idle timeout at the latest.)
            self._caught_up[cursor] = await self.last_seq()
        return records

    async def caught_up_to(self, cursor: str) -> int:
        """The position a cursor has seen everything up to: its own, or the log's end when its
        last read found nothing more in its partition (so a partition consumer waits for appends
        past the log's end, not past its own last record)."""
        position = await self.control.get_cursor(cursor)
        return max(position, self._caught_up.get(cursor, 0))

    async def lag(self, cursor: str) -> int:
        """Exact, in messages: what JetStream counts as stored for the cursor's subject filter
        from the message its position resumes at (an ephemeral consumer's ``num_pending``)."""
        return await self.lag_after(cursor, await self.control.get_cursor(cursor))

    async def lag_after(self, cursor: str, position: int) -> int:
        """Exact, as :meth:`lag`, for the cursor put at ``position``."""
        _, partition = split_cursor(cursor)
        if partition is not None and partition >= self.partitions:
            return 0
        return await self._readers.pending(self._filter(partition), codec.resume_at(position) - 1)

    async def read_time_range(
        self,
        app_id: str,
        from_ms: int,
        to_ms: int,
        *,
        after_seq: int = 0,
        limit: int = 1000,
        kind: LogKind | None = None,
    ) -> list[LogRecord]:
        def keep(r: LogRecord) -> bool:
            return (
                r.app_id == app_id
                and from_ms <= r.timestamp < to_ms
                and (kind is None or r.kind == kind)
            )

        return await scan(self._readers, self._filter(None, app_id), after_seq, keep, limit=limit)

    async def recent_events(
        self, app_id: str, limit: int = 50, *, before_seq: int | None = None
    ) -> list[LogRecord]:
        # JetStream reads forwards only: read windows of messages ending at ``before_seq``,
        # growing them backwards until they hold ``limit`` events or reach the start.
        upto = (before_seq - 1) if before_seq is not None else await self.last_seq()
        last_message = codec.message_of(upto)
        window = max(limit, 64)
        while True:
            start = max(0, last_message - window)
            found = await scan(
                self._readers,
                self._filter(None, app_id),
                codec.end_position(start),
                lambda r: r.app_id == app_id and r.kind == "event",
                limit=1_000_000,
                upto=upto,
            )
            if len(found) >= limit or start == 0:
                return found[::-1][:limit]
            window *= 4


def _retrieve(task: asyncio.Task[int]) -> None:
    """Read a shared look's outcome, so one whose waiters all left logs no unread error."""
    if not task.cancelled():
        task.exception()
