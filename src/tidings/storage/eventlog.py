"""The event log: idempotent batch append, catalogs and stats in the same transaction, cursors.

A log row is a handful of indexed columns plus one ``payload`` blob holding the orjson bytes the
caller produced; nothing is decoded on the way in or out, so appending and reading cost a copy,
not thousands of live dicts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from tidings.storage import logbatch
from tidings.storage.catalogs import CatalogGuard, CatalogLimits
from tidings.storage.clock import now_ms
from tidings.storage.counting import CatalogTally, StatsTally, counts_by_id, tally
from tidings.storage.engine import Engine, Tx
from tidings.storage.logrecords import (
    Counted,
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


def _append(
    tx: Tx,
    app_id: str,
    kind: LogKind,
    items: Sequence[EventIn] | Sequence[DecisionIn],
    arrival_ms: int,
) -> list[bool]:
    """Append one kind of item as one batch; returns per-item ``stored now`` flags in input
    order (false for a repeat within the request or an id already in the log)."""
    ids = [item.id for item in items]
    distinct = list(dict.fromkeys(ids))
    first_seq = logbatch.last_seq(tx) + 1
    fresh = logbatch.claim_ids(tx, app_id, kind, distinct, first_seq)
    if len(fresh) == len(ids):  # the common case: every item is new and distinct
        flags = [True] * len(ids)
        chosen: Sequence[EventIn | DecisionIn] = items
    else:
        flags = []
        picked: list[EventIn | DecisionIn] = []
        for item in items:
            new = item.id in fresh
            flags.append(new)
            if new:
                fresh.discard(item.id)  # a repeat within the request is not stored twice
                picked.append(item)
        if not picked:
            return flags
        chosen = picked
    rows = [logbatch.log_item(i) for i in chosen]
    logbatch.write_batch(tx, app_id, kind, rows, first_seq=first_seq, arrival_ms=arrival_ms)
    return flags


append_items = _append
"""Append one kind of item (``tidings.storage.attribution`` logs first conversions with it)."""


def write_tallies(tx: Tx, app_id: str, catalog: CatalogTally, stats: StatsTally) -> None:
    """Add one batch's catalog and campaign-stat counts (upserts)."""
    tx.executemany(
        "INSERT INTO event_catalog (app_id, name, type, count, last_seen) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (app_id, name, type) DO UPDATE SET"
        " count = event_catalog.count + excluded.count,"
        " last_seen = CASE WHEN excluded.last_seen > event_catalog.last_seen"
        " THEN excluded.last_seen ELSE event_catalog.last_seen END",
        [(app_id, name, typ, c, last) for (name, typ), (c, last) in catalog.items()],
    )
    tx.executemany(
        "INSERT INTO campaign_stats (campaign_id, day, metric, key, count) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (campaign_id, day, metric, key) DO UPDATE SET"
        " count = campaign_stats.count + excluded.count",
        [(*key, n) for key, n in stats.items()],
    )


def _update_catalogs(
    tx: Tx,
    app_id: str,
    *,
    events: Sequence[EventIn],
    flags: Sequence[bool],
    decisions: Sequence[DecisionIn],
    decision_flags: Sequence[bool],
    custom_properties: Mapping[str, Any] | None,
    guard: CatalogGuard,
    limits: CatalogLimits,
) -> None:
    catalog, stats = tally(events, flags, decisions, decision_flags)
    write_tallies(tx, app_id, catalog, stats)
    if custom_properties:
        guard.record_properties(tx, app_id, custom_properties, limits.property_keys)


def _append_events(
    tx: Tx,
    app_id: str,
    events: Sequence[EventIn],
    arrival_ms: int,
    refused: Sequence[int],
) -> list[bool]:
    """:func:`_append` for the events not ``refused``; flags in input order (refused: false)."""
    if not refused:
        return _append(tx, app_id, "event", events, arrival_ms)
    skip = set(refused)
    kept = [e for i, e in enumerate(events) if i not in skip]
    stored = iter(_append(tx, app_id, "event", kept, arrival_ms) if kept else ())
    return [False if i in skip else next(stored) for i in range(len(events))]


def _stored_response(tx: Tx, app_id: str, request_id: str) -> StoredResponse | None:
    row = tx.one(
        "SELECT status, body, body_hash FROM request_responses WHERE app_id = ? AND request_id = ?",
        (app_id, request_id),
    )
    if row is None:
        return None
    return StoredResponse(int(row[0]), bytes(row[1]), bytes(row[2]) if row[2] is not None else None)


def ingest_tx(
    tx: Tx,
    app_id: str,
    *,
    events: Sequence[EventIn],
    decisions: Sequence[DecisionIn],
    arrival_ms: int,
    request_id: str | None,
    render: RenderResponse | None,
    custom_properties: Mapping[str, Any] | None,
    guard: CatalogGuard,
    limits: CatalogLimits,
    request_hash: bytes | None = None,
) -> IngestResult:
    """The body of ``ingest``, run inside a write transaction."""
    if request_id is not None:
        # Claim the request id first: a concurrent attempt (another process on PostgreSQL)
        # waits on this row and then finds the finished response instead of writing twice.
        claimed = tx.one(
            "INSERT INTO request_responses"
            " (app_id, request_id, status, body, created_at, body_hash)"
            " VALUES (?, ?, 0, ?, ?, ?) ON CONFLICT (app_id, request_id) DO NOTHING"
            " RETURNING request_id",
            (app_id, request_id, b"", arrival_ms, request_hash),
        )
        if claimed is None:
            stored = _stored_response(tx, app_id, request_id)
            assert stored is not None
            return IngestResult(stored, None, True)
    refused = guard.refused_events(tx, app_id, events, limits.event_names) if events else []
    event_flags = _append_events(tx, app_id, events, arrival_ms, refused) if events else []
    decision_flags = _append(tx, app_id, "decision", decisions, arrival_ms) if decisions else []
    _update_catalogs(
        tx,
        app_id,
        events=events,
        flags=event_flags,
        decisions=decisions,
        decision_flags=decision_flags,
        custom_properties=custom_properties,
        guard=guard,
        limits=limits,
    )
    outcome = IngestOutcome(events=event_flags, decisions=decision_flags, refused=refused)
    response: StoredResponse | None = None
    if request_id is not None:
        check_render(request_id, render)
        assert render is not None  # checked above
        response = render(outcome)
        tx.execute(
            "UPDATE request_responses SET status = ?, body = ? WHERE app_id = ? AND request_id = ?",
            (response.status, response.body, app_id, request_id),
        )
    return IngestResult(response, outcome, False)


def count_batch_tx(
    tx: Tx,
    cursor: str,
    batch: Sequence[Counted],
    at_ms: int,
    *,
    guard: CatalogGuard,
    limits: CatalogLimits,
) -> int:
    """Add the counts of the items of ``batch`` past ``cursor`` and move the cursor to the
    batch's end, in this one transaction; returns how many items were counted.

    The catalogs keep within ``limits`` with the ingest's rules (:mod:`.catalogs`): new custom
    event names are admitted in log order while there is room, and the events of a name past
    it are not counted; each distinct custom-property map is catalogued once per batch. A batch
    handed over again finds the cursor past it and changes nothing.
    """
    if not batch:
        return 0
    # Take the cursor row first (PostgreSQL locks it for this transaction), so two processes
    # handed the same batch count it once: the second finds the cursor already past it.
    tx.execute(
        "INSERT INTO cursors (name, seq, updated_at) VALUES (?, 0, ?) ON CONFLICT (name)"
        " DO UPDATE SET updated_at = excluded.updated_at",
        (cursor, at_ms),
    )
    position = int(tx.scalar("SELECT seq FROM cursors WHERE name = ?", (cursor,)) or 0)
    fresh = [c for c in batch if c.seq > position]
    by_app: dict[str, tuple[list[EventIn], list[DecisionIn], dict[int, Mapping[str, Any]]]] = {}
    for c in fresh:
        events, decisions, maps = by_app.setdefault(c.app_id, ([], [], {}))
        if isinstance(c.item, EventIn):
            events.append(c.item)
        else:
            decisions.append(c.item)
        if c.custom_properties:
            maps.setdefault(id(c.custom_properties), c.custom_properties)
    last = max(c.seq for c in batch)
    for app_id, (events, decisions, maps) in by_app.items():
        refused = set(guard.refused_events(tx, app_id, events, limits.event_names))
        firsts = _first_counted(tx, app_id, "event", events, last)
        flags = [i not in refused and firsts[i] for i in range(len(events))]
        decision_flags = _first_counted(tx, app_id, "decision", decisions, last)
        catalog, stats = tally(events, flags, decisions, decision_flags)
        write_tallies(tx, app_id, catalog, stats)
        for properties in maps.values():
            guard.record_properties(tx, app_id, properties, limits.property_keys)
    tx.execute("UPDATE cursors SET seq = ? WHERE name = ? AND seq < ?", (last, cursor, last))
    return len(fresh)


def _first_counted(
    tx: Tx, app_id: str, kind: LogKind, items: Sequence[EventIn | DecisionIn], seq: int
) -> list[bool]:
    """Per item, whether it counts: False for a campaign-stat item (a decision, a
    ``CampaignShown`` / ``CampaignResolved`` event) whose id was counted before, or earlier in
    this batch. A log kept outside the database stores a record resent inside another upload
    again; the stats stay exact by remembering those ids in ``log_ids``, which such a log does
    not otherwise use. Other events are counted per record (the catalog's counts are a tally)."""
    wanted = [i for i, item in enumerate(items) if counts_by_id(item)]
    out = [True] * len(items)
    if not wanted:
        return out
    distinct = list(dict.fromkeys(items[i].id for i in wanted))
    fresh = logbatch.claim_ids(tx, app_id, kind, distinct, seq)
    for i in wanted:
        if items[i].id in fresh:
            fresh.discard(items[i].id)  # its first occurrence counts, not a repeat in the batch
        else:
            out[i] = False
    return out


class EventLogMixin:
    """The event-log and cursor roles of ``SqlStore``."""

    async def count_batch(
        self, cursor: str, batch: Sequence[Counted], limits: CatalogLimits | None = None
    ) -> int:
        """Fold a batch read from a log kept outside the database into the catalogs and
        campaign stats, exactly once per log position: see :class:`Counted`."""
        at, guard, bounds = now_ms(), self._catalogs, limits or CatalogLimits()
        return await self._engine.write(
            lambda tx: count_batch_tx(tx, cursor, batch, at, guard=guard, limits=bounds)
        )

    _engine: Engine
    _append_waiters: set[asyncio.Future[None]]
    _catalogs: CatalogGuard
    poll_interval: float = 0.5
    """Seconds between checks for appends made by other processes."""

    async def wait_for_append(self, after_seq: int, timeout: float) -> bool:
        # Appends through this store object wake waiters at once; appends by other processes
        # are noticed by a poll every ``poll_interval`` seconds.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if await self.last_seq() > after_seq:
                return True
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            await self._append_signal(min(remaining, self.poll_interval))

    def _wake_appended(self) -> None:
        waiters, self._append_waiters = self._append_waiters, set()
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def _append_signal(self, timeout: float) -> None:
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._append_waiters.add(waiter)
        try:
            await asyncio.wait_for(waiter, timeout)
        except TimeoutError:
            pass
        finally:
            self._append_waiters.discard(waiter)

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
        guard, limits = self._catalogs, catalog_limits or CatalogLimits()
        check_render(request_id, render)
        result = await self._engine.write(
            lambda tx: ingest_tx(
                tx,
                app_id,
                events=events,
                decisions=decisions,
                arrival_ms=arrival_ms,
                request_id=request_id,
                render=render,
                custom_properties=custom_properties,
                guard=guard,
                limits=limits,
                request_hash=request_hash,
            )
        )
        outcome = result.outcome
        if outcome is not None and (any(outcome.events) or any(outcome.decisions)):
            self._wake_appended()
        return result

    async def stored_response(self, app_id: str, request_id: str) -> StoredResponse | None:
        return await self._engine.read(lambda tx: _stored_response(tx, app_id, request_id))

    async def keep_response(
        self, app_id: str, request_id: str, response: StoredResponse, created_at: int
    ) -> tuple[StoredResponse, bool]:
        """Store a request's response once (for a log kept outside the database, which appends
        first and answers after): returns the stored response and whether it is ``response``."""
        return await self._engine.write(
            lambda tx: keep_response_tx(tx, app_id, request_id, response, created_at)
        )

    async def prune_responses(self, older_than_ms: int) -> int:
        def run(tx: Tx) -> int:
            cur = tx.execute("DELETE FROM request_responses WHERE created_at < ?", (older_than_ms,))
            return int(cur.rowcount)

        return await self._engine.write(run)

    async def last_seq(self) -> int:
        return await self._engine.read(logbatch.last_seq)

    async def read_log(self, after_seq: int, limit: int = 1000) -> list[LogRecord]:
        return await self._engine.read(lambda tx: logbatch.read_forward(tx, after_seq, limit))

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
        # A batch row knows the span of its records' timestamps, so rows wholly outside the
        # range are skipped without decoding them.
        where = " AND app_id = ? AND max_ts >= ? AND min_ts < ?"
        params: list[Any] = [app_id, from_ms, to_ms]
        if kind is not None:
            where += " AND kind = ?"
            params.append(kind)

        def keep(_seq: int, ts: int) -> bool:
            return from_ms <= ts < to_ms

        return await self._engine.read(
            lambda tx: logbatch.read_forward(
                tx, after_seq, limit, where=where, params=params, keep=keep
            )
        )

    async def recent_events(
        self, app_id: str, limit: int = 50, *, before_seq: int | None = None
    ) -> list[LogRecord]:
        return await self._engine.read(
            lambda tx: logbatch.read_backward(tx, app_id, "event", limit, before_seq)
        )

    async def read_after(self, cursor: str, limit: int = 1000) -> list[LogRecord]:
        def run(tx: Tx) -> list[LogRecord]:
            position = tx.scalar("SELECT seq FROM cursors WHERE name = ?", (cursor,))
            return logbatch.read_forward(tx, int(position or 0), limit)

        return await self._engine.read(run)

    async def commit_cursor(self, cursor: str, seq: int) -> None:
        params = (cursor, seq, now_ms())

        def run(tx: Tx) -> None:
            tx.execute(
                "INSERT INTO cursors (name, seq, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET seq = excluded.seq,"
                " updated_at = excluded.updated_at WHERE cursors.seq < excluded.seq",
                params,
            )

        await self._engine.write(run)

    async def reset_cursor(self, cursor: str, seq: int) -> None:
        params = (cursor, seq, now_ms())

        def run(tx: Tx) -> None:
            tx.execute(
                "INSERT INTO cursors (name, seq, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET seq = excluded.seq,"
                " updated_at = excluded.updated_at",
                params,
            )

        await self._engine.write(run)

    async def get_cursor(self, cursor: str) -> int:
        value = await self._engine.read(
            lambda tx: tx.scalar("SELECT seq FROM cursors WHERE name = ?", (cursor,))
        )
        return int(value) if value is not None else 0

    async def list_cursors(self) -> dict[str, int]:
        rows = await self._engine.read(lambda tx: tx.all("SELECT name, seq FROM cursors"))
        return {name: int(seq) for name, seq in rows}


def keep_response_tx(
    tx: Tx,
    app_id: str,
    request_id: str,
    response: StoredResponse,
    created_at: int,
) -> tuple[StoredResponse, bool]:
    """Store ``response`` for the request unless one is stored already; returns the stored
    response and whether it is this one (the first finisher of concurrent attempts wins)."""
    claimed = tx.one(
        "INSERT INTO request_responses (app_id, request_id, status, body, created_at, body_hash)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (app_id, request_id) DO NOTHING"
        " RETURNING request_id",
        (app_id, request_id, response.status, response.body, created_at, response.request_hash),
    )
    if claimed is not None:
        return response, True
    stored = _stored_response(tx, app_id, request_id)
    assert stored is not None
    return stored, False
