"""What the pipeline's own consumers write into the log, when the log is JetStream.

On a SQL log, the server-campaign consumer commits its identity states, its cursor, its
outbox items *and its decisions* in one transaction, and a dead campaign call's
``CUSTOM_DELIVERY_FAILURE`` is appended in the transaction that settles the outbox. With the
log on JetStream those decisions must reach the stream (in the partition of the device they
are about, so the device's consumers read them in order), and no transaction spans JetStream
and the database. So:

* **Decisions of a batch** are written into the database first, in the batch's transaction, as
  rows of a per-cursor *pending* queue (the outbox under the name ``$log:<cursor>``), then
  appended to JetStream and dropped from the queue. A crash between the two leaves them
  queued: they are appended before the cursor's next batch is committed (and when a process
  first reads that cursor), so they reach the log once (the queue's rows are appended in the same
  order and grouping again, so they make the same messages, whose repeats JetStream's duplicate
  window drops) and in order. A batch that another partition's commit made stale
  (:class:`~tidings.storage.identitystates.StateConflict`) appended nothing.
* **A dead call's failure record** is appended before the outbox is settled: a crash between
  the two sends the call again, and a second death appends the same id again (deduplicated).
* **First conversions** go the decisions' way: attribution keeps its state with its cursor in
  the database as on SQL, and the ``conversion`` record of each first conversion is committed
  in the same transaction into the attribution cursor's queue, then appended (in the partition of
  the conversion's device, else user: the partition the attribution consumer read it from) and
  dropped from the queue; a crash in between appends it when that cursor is next read or
  commits, once within the duplicate window. Each queue row says which kind of record it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import partial
from typing import Any

import orjson

from tidings.core.campaigns import Exposure
from tidings.storage.attribution import AttributionOutcome, ConversionIn, QueueLog
from tidings.storage.clock import now_ms
from tidings.storage.deliveryrecords import OutboxItem, Settle
from tidings.storage.identitystates import IdentityCommit
from tidings.storage.logrecords import DecisionIn, LogKind
from tidings.storage.sqlstore import SqlStore

PENDING_PREFIX = "$log:"
"""The outbox name of a cursor's records waiting to be appended (``$log:<cursor>``)."""

_PAGE = 1000


def pending_queue(cursor: str | None) -> str:
    """The outbox name of ``cursor``'s pending records (``$log:`` for results recorded
    without a cursor)."""
    return PENDING_PREFIX + (cursor or "")


def encode_pending(
    app_id: str, decision: DecisionIn, arrival_ms: int, kind: LogKind = "decision"
) -> bytes:
    """A pending record (a decision, or a conversion shaped as one) as outbox bytes: a JSON
    header line, then its payload untouched."""
    head = orjson.dumps(
        [
            app_id,
            decision.id,
            decision.campaign_id,
            decision.status,
            decision.timestamp,
            decision.device_id,
            decision.user_id,
            arrival_ms,
            kind,
        ]
    )
    return head + b"\n" + decision.payload


def decode_pending(body: bytes) -> tuple[str, LogKind, DecisionIn, int]:
    """``(app id, kind, record, arrival ms)`` of :func:`encode_pending`'s bytes (a header
    without a kind, as queued before conversions were, is a decision's)."""
    cut = body.index(b"\n")
    head: list[Any] = orjson.loads(body[:cut])
    kind: LogKind = head.pop() if len(head) > 8 else "decision"
    app_id, item_id, campaign_id, status, timestamp, device_id, user_id, arrival_ms = head
    if kind not in ("decision", "conversion"):
        raise ValueError(f"a pending log row of kind {kind!r}: expected decision or conversion")
    decision = DecisionIn(
        id=item_id,
        campaign_id=campaign_id,
        status=status,
        timestamp=timestamp,
        payload=body[cut + 1 :],
        device_id=device_id,
        user_id=user_id,
    )
    return app_id, kind, decision, arrival_ms


def conversions_queued(cursor: str | None, seq: int) -> QueueLog:
    """What the attribution transaction writes for its first conversions' ``conversion``
    records: rows of ``cursor``'s pending queue."""
    queue = pending_queue(cursor)
    encode = partial(encode_pending, kind="conversion")

    def queued(logged: Sequence[tuple[str, DecisionIn]], at: int) -> list[tuple[str, OutboxItem]]:
        return [
            (queue, OutboxItem(f"conversion:{row.id}", "", seq, at, encode(app_id, row, at)))
            for app_id, row in logged
        ]

    return queued


class LogResults:
    """The ``JetStreamStore`` side of the consumers' results (see the module docstring)."""

    control: SqlStore
    _flushed: set[str]
    """Cursors whose queue this process found empty (see ``JetStreamStore.read_after``)."""

    async def append_kind(
        self,
        app_id: str,
        kind: LogKind,
        items: Sequence[DecisionIn],
        *,
        arrival_ms: int,
    ) -> list[bool]:
        raise NotImplementedError  # the store's own

    async def append_records(
        self, kind: LogKind, records: Sequence[tuple[str, DecisionIn]], arrival_ms: int
    ) -> None:
        """Append ``(app id, record)`` as records of ``kind`` to the stream in this order, each
        into its device's partition (the same records appended again within the duplicate window
        make the same messages, which JetStream stores once)."""
        run: list[DecisionIn] = []
        app: str | None = None
        for app_id, record in records:
            if app is not None and app_id != app:
                await self.append_kind(app, kind, run, arrival_ms=arrival_ms)
                run = []
            app = app_id
            run.append(record)
        if app is not None and run:
            await self.append_kind(app, kind, run, arrival_ms=arrival_ms)

    async def append_decisions(
        self, decisions: Sequence[tuple[str, DecisionIn]], arrival_ms: int
    ) -> None:
        """:meth:`append_records` of decisions."""
        await self.append_records("decision", decisions, arrival_ms)

    async def flush_pending(self, cursor: str | None) -> int:
        """Append what ``cursor``'s committed batches left queued, oldest first, and drop it
        from the queue; returns how many records."""
        queue, done = pending_queue(cursor), 0
        while True:
            rows = await self.control.outbox_rows(queue, _PAGE)
            if not rows:
                return done
            groups: list[tuple[int, LogKind, list[tuple[str, DecisionIn]]]] = []
            for row in rows:
                app_id, kind, record, arrival_ms = decode_pending(row.body)
                if not groups or groups[-1][:2] != (arrival_ms, kind):
                    groups.append((arrival_ms, kind, []))
                groups[-1][2].append((app_id, record))
            for arrival_ms, kind, records in groups:
                await self.append_records(kind, records, arrival_ms)
            await self.control.settle(queue, [Settle(r.id) for r in rows])
            done += len(rows)

    async def _flush_committed(self, cursor: str | None) -> None:
        """Append what a commit just queued; on failure the cursor's next read tries again."""
        try:
            await self.flush_pending(cursor)
        except BaseException:
            self._flushed.discard(cursor or "")
            raise

    async def commit_identity_batch(self, commit: IdentityCommit, arrival_ms: int) -> bool:
        """The SQL commit with the decisions queued instead of logged, then appended."""
        await self.flush_pending(commit.cursor)  # an earlier batch's, left by a crash: first
        queue = pending_queue(commit.cursor)
        pending = [
            (
                queue,
                OutboxItem(d.id, "", commit.last_seq, arrival_ms, encode_pending(a, d, arrival_ms)),
            )
            for a, d in commit.decisions
        ]
        done = await self.control.commit_identity_batch(
            replace(commit, decisions=(), deliveries=[*commit.deliveries, *pending]), arrival_ms
        )
        if done and pending:
            await self._flush_committed(commit.cursor)
        return done

    async def settle(
        self,
        destination_id: str,
        outcomes: Sequence[Settle],
        log: Sequence[tuple[str, DecisionIn]] = (),
    ) -> None:
        """The outbox settled in the database; its log records appended to the stream first."""
        if log:
            await self.append_decisions(log, now_ms())
        await self.control.settle(destination_id, outcomes)

    async def record_attribution(
        self,
        exposures: Sequence[Exposure],
        conversions: Sequence[ConversionIn],
        *,
        cursor: str | None = None,
        seq: int = 0,
        arrival_ms: int | None = None,
    ) -> AttributionOutcome:
        """Exposures, conversions and the cursor in the database with the first conversions'
        ``conversion`` records queued instead of logged, then appended (module docstring)."""
        await self.flush_pending(cursor)  # an earlier batch's, left by a crash: first
        outcome = await self.control.record_attribution(
            exposures,
            conversions,
            cursor=cursor,
            seq=seq,
            arrival_ms=arrival_ms,
            queue_log=conversions_queued(cursor, seq),
        )
        if outcome.first:
            await self._flush_committed(cursor)
        return outcome
