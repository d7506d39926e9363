"""A store whose event log is a JetStream stream and whose everything else is SQL.

:class:`JetStreamStore` is a :class:`~tidings.storage.roles.Store`: the event-log role (append,
read, ranges, recent) and the reads of the cursor role go to JetStream; configuration, cursor
positions, leases, outbox, dead letters, stored responses, catalogs and stats stay in the
control-plane database (``--db``), which it wraps.

What differs from a SQL log, by design:

* **Sequence numbers** are the stream's: they grow strictly in the stream's order, shared by all
  partitions, so a cursor over the whole log and one over a partition count the same way.
* **Deduplication** is JetStream's, by message id ``app:kind:item id`` within the stream's
  duplicate window (``?dedup=``), exact for retries inside it. Past it, consumers stay
  idempotent by event id, as at-least-once delivery requires anyway.
* **Request ids**: the items are appended first, then the response is stored in the database,
  the first of concurrent attempts winning; a retried request finds that response. A crash
  between the two only means the retry is answered afresh, its items counted as duplicates.
* **Catalogs and campaign stats** are not written by ``ingest``: the pipeline's counting
  consumer folds them in from the log in batches (``tidings.pipeline.counting``).
* **Cursors named** ``<consumer>@p<n>`` read partition ``n`` only (the subject filter
  ``<prefix>.<n>.*``); other cursors read the whole log.
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
from tidings.storage.jetstream.client import (
    Appender,
    Fetched,
    Outgoing,
    Readers,
    connect,
    ensure_stream,
)
from tidings.storage.jetstream.config import LogUrl
from tidings.storage.logrecords import (
    DecisionIn,
    EventIn,
    IngestOutcome,
    IngestResult,
    LogKind,
    LogRecord,
    RenderResponse,
    StoredResponse,
)
from tidings.storage.records import StoreUnavailable
from tidings.storage.sqlstore import SqlStore

_SCAN_PAGE = 1000


class JetStreamStore:
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
        self._waiters: set[asyncio.Future[None]] = set()
        self._appends = 0
        """Appends made through this store, so a look at the stream's end begun before one is
        not taken for news of it."""
        self._looked: tuple[int, float, int] | None = None
        """The last look at the stream's end for waiters: (appends then, loop time, seq)."""
        self._looking: tuple[int, asyncio.Task[int]] | None = None
        self._inflight: dict[tuple[str, str], asyncio.Future[IngestResult]] = {}
        self._caught_up: dict[str, int] = {}
        self.pending: dict[str, int] = {}
        """Per cursor, how many records its last read left waiting (its lag)."""

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
            await self._readers.close()
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
        where: list[int],
    ) -> None:
        """Add the messages of ``items`` to ``out``; ``flags`` gets one per item (False for a
        repeat within the call), ``where`` the flag index of each message."""
        seen: set[str] = set()
        prefix, parts = self.log.prefix, self.partitions
        for item in items:
            if item.id in seen:
                flags.append(False)  # a repeat within the request is not sent twice
                continue
            seen.add(item.id)
            where.append(len(flags))
            flags.append(True)
            if isinstance(item, EventIn):
                name, lead = item.name, item.prefix
            else:
                name, lead = item.campaign_id, b""
            p = partition_of(app_id, partition_key(item.device_id, item.user_id), parts)
            body = codec.encode(
                app_id,
                kind,
                item_id=item.id,
                name=name,
                timestamp=item.timestamp,
                arrival_ms=arrival_ms,
                device_id=item.device_id,
                user_id=item.user_id,
                prefix=lead,
                payload=item.payload,
            )
            out.append(
                (codec.subject(prefix, p, app_id), codec.message_id(app_id, kind, item.id), body)
            )

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
        if request_id is not None and render is None:
            raise ValueError("ingest with a request_id needs render to build the stored response")
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
        out: list[Outgoing] = []
        event_flags: list[bool] = []
        decision_flags: list[bool] = []
        event_at: list[int] = []
        decision_at: list[int] = []
        self._outgoing(
            app_id,
            "event",
            events,
            arrival_ms=arrival_ms,
            flags=event_flags,
            out=out,
            where=event_at,
        )
        self._outgoing(
            app_id,
            "decision",
            decisions,
            arrival_ms=arrival_ms,
            flags=decision_flags,
            out=out,
            where=decision_at,
        )
        acks = await self._appender.append(out) if out else []
        positions = [(event_flags, i) for i in event_at] + [
            (decision_flags, i) for i in decision_at
        ]
        for (flags, index), (_, duplicate) in zip(positions, acks, strict=True):
            if duplicate:
                flags[index] = False
        if acks:
            self._wake()
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

    def _records(self, fetched: Fetched) -> list[LogRecord]:
        prefixes: dict[bytes, bytes] = {}
        return [codec.decode(seq, body, prefixes) for seq, body in fetched.messages]

    def _filter(self, partition: int | None, app_id: str | None = None) -> str:
        part = "*" if partition is None else str(partition)
        app = "*" if app_id is None else codec.subject_token(app_id)
        return f"{self.log.prefix}.{part}.{app}"

    async def read_log(self, after_seq: int, limit: int = 1000) -> list[LogRecord]:
        fetched = await self._readers.read("", self._filter(None), after_seq, limit)
        return self._records(fetched)

    async def read_after(self, cursor: str, limit: int = 1000) -> list[LogRecord]:
        position = await self.control.get_cursor(cursor)
        _, partition = split_cursor(cursor)
        if partition is not None and partition >= self.partitions:
            return []
        fetched = await self._readers.read(cursor, self._filter(partition), position, limit)
        self.pending[cursor] = fetched.pending
        if fetched.messages:
            self._caught_up.pop(cursor, None)
        else:
            # Found nothing after ``position``: what its partition holds up to the stream's end
            # is consumed. (An append landing between the read and this look is seen at the
            # consumer's next idle timeout at the latest.)
            self._caught_up[cursor] = await self.last_seq()
        return self._records(fetched)

    async def caught_up_to(self, cursor: str) -> int:
        """The stream sequence a cursor has seen everything up to: its position, or the
        stream's end when its last read found nothing more in its partition (so a partition
        consumer waits for appends past the stream's end, not past its own last record)."""
        position = await self.control.get_cursor(cursor)
        return max(position, self._caught_up.get(cursor, 0))

    async def lag(self, cursor: str) -> int:
        """Exact: what JetStream counts as pending for the cursor's subject filter after its
        position (an ephemeral consumer's ``num_pending``)."""
        position = await self.control.get_cursor(cursor)
        _, partition = split_cursor(cursor)
        return await self._readers.pending(self._filter(partition), position)

    async def _scan(
        self, filter_subject: str, after_seq: int, keep: Any, limit: int, upto: int | None = None
    ) -> list[LogRecord]:
        out: list[LogRecord] = []
        while len(out) < limit:
            fetched = await self._readers.scan(filter_subject, after_seq, _SCAN_PAGE)
            if not fetched.messages:
                break
            for record in self._records(fetched):
                if upto is not None and record.seq > upto:
                    return out
                if keep(record):
                    out.append(record)
                    if len(out) == limit:
                        break
            after_seq = fetched.messages[-1][0]
            if fetched.pending == 0:
                break
        return out

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

        return await self._scan(self._filter(None, app_id), after_seq, keep, limit)

    async def recent_events(
        self, app_id: str, limit: int = 50, *, before_seq: int | None = None
    ) -> list[LogRecord]:
        # JetStream reads forwards only: read windows ending at ``before_seq``, growing them
        # backwards until they hold ``limit`` events or reach the start.
        upto = (before_seq - 1) if before_seq is not None else await self.last_seq()
        window = max(limit * 4, 256)
        while True:
            start = max(0, upto - window)
            found = await self._scan(
                self._filter(None, app_id),
                start,
                lambda r: r.app_id == app_id and r.kind == "event",
                1_000_000,
                upto=upto,
            )
            if len(found) >= limit or start == 0:
                return found[::-1][:limit]
            window *= 4


def _retrieve(task: asyncio.Task[int]) -> None:
    """Read a shared look's outcome, so one whose waiters all left logs no unread error."""
    if not task.cancelled():
        task.exception()
