"""The event log: idempotent batch append, catalogs and stats in the same transaction, cursors.

A log row is a handful of indexed columns plus one ``payload`` blob holding the orjson bytes the
caller produced; nothing is decoded on the way in or out, so appending and reading cost a copy,
not thousands of live dicts.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from tidings.core.events import CAMPAIGN_RESOLVED, CAMPAIGN_SHOWN
from tidings.storage import logbatch
from tidings.storage.base import (
    DecisionIn,
    EventIn,
    IngestOutcome,
    IngestResult,
    LogKind,
    LogRecord,
    PropertyType,
    RenderResponse,
    StoredResponse,
)
from tidings.storage.engine import Engine, Tx

_MS_PER_DAY = 86_400_000
_DAY_CACHE: dict[int, str] = {}


_clock_lock = threading.Lock()
_last_ms = 0


def now_ms() -> int:
    """Epoch milliseconds for the store's own timestamps (createdAt, revoked_at...).

    Strictly increasing within a process: two campaigns (or keys, apps...) created in the same
    millisecond still get distinct ``createdAt`` values, so "oldest first" listings and the
    "earliest created wins" campaign tie-break are total orders, not coin flips.
    """
    global _last_ms  # noqa: PLW0603 - one process-wide clock is the point
    with _clock_lock:
        _last_ms = max(int(time.time() * 1000), _last_ms + 1)
        return _last_ms


def utc_day(ts_ms: int) -> str:
    """``YYYY-MM-DD`` of a timestamp in UTC (cached: a batch mostly hits one or two days).

    Total over every integer: ingest refuses times outside its range, but a stats bucket
    must never be the reason a write fails, so years past 9999 (or before year 1) get their
    proleptic Gregorian date, with as many year digits as they need.
    """
    number = ts_ms // _MS_PER_DAY
    day = _DAY_CACHE.get(number)
    if day is None:
        year, month, date = civil_from_days(number)
        day = (
            f"{year:04d}-{month:02d}-{date:02d}"
            if year >= 0
            else f"-{-year:04d}-{month:02d}-{date:02d}"
        )
        if len(_DAY_CACHE) > 4096:
            _DAY_CACHE.clear()
        _DAY_CACHE[number] = day
    return day


def civil_from_days(days: int) -> tuple[int, int, int]:
    """(year, month, day) of a count of days since 1970-01-01, proleptic Gregorian, for any
    integer (the 400-year-era arithmetic of H. Hinnant's ``civil_from_days``)."""
    z = days + 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (month <= 2), month, day


def infer_type(value: Any) -> PropertyType | None:
    """Catalog type of a custom-property value (``bool`` first: it is an ``int`` subclass)."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return None


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
    rows: list[logbatch.LogItem] = [
        (i.id, i.name, i.timestamp, i.device_id, i.user_id, i.prefix, i.payload)
        if isinstance(i, EventIn)
        else (i.id, i.campaign_id, i.timestamp, i.device_id, i.user_id, b"", i.payload)
        for i in chosen
    ]
    logbatch.write_batch(tx, app_id, kind, rows, first_seq=first_seq, arrival_ms=arrival_ms)
    return flags


def _update_catalogs(
    tx: Tx,
    app_id: str,
    *,
    events: Sequence[EventIn],
    flags: Sequence[bool],
    decisions: Sequence[DecisionIn],
    decision_flags: Sequence[bool],
    custom_properties: Mapping[str, Any] | None,
) -> None:
    catalog: dict[tuple[str, str], list[int]] = {}
    stats: dict[tuple[str, str, str, str], int] = {}
    for event, stored in zip(events, flags, strict=True):
        if not stored:
            continue
        entry = catalog.get((event.name, event.type))
        if entry is None:
            catalog[(event.name, event.type)] = [1, event.timestamp]
        else:
            entry[0] += 1
            entry[1] = max(entry[1], event.timestamp)
        props = event.properties
        if props is None or event.name not in (CAMPAIGN_SHOWN, CAMPAIGN_RESOLVED):
            continue
        campaign_id = props.get("campaignId")
        if not isinstance(campaign_id, str):
            continue
        day = utc_day(event.timestamp)
        if event.name == CAMPAIGN_SHOWN:
            key = (campaign_id, day, "shown", "")
            stats[key] = stats.get(key, 0) + 1
            continue
        result = props.get("result")
        if isinstance(result, str):
            key = (campaign_id, day, "resolved", result)
            stats[key] = stats.get(key, 0) + 1
        reason = props.get("unavailableReason")
        if isinstance(reason, str):
            key = (campaign_id, day, "unavailable", reason)
            stats[key] = stats.get(key, 0) + 1
    for decision, stored in zip(decisions, decision_flags, strict=True):
        if stored:
            key = (decision.campaign_id, utc_day(decision.timestamp), "decision", decision.status)
            stats[key] = stats.get(key, 0) + 1
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
    if custom_properties:
        types = [(app_id, k, t) for k, v in custom_properties.items() if (t := infer_type(v))]
        # The WHERE keeps an unchanged key from rewriting its row on every request.
        tx.executemany(
            "INSERT INTO property_catalog (app_id, key, type) VALUES (?, ?, ?)"
            " ON CONFLICT (app_id, key) DO UPDATE SET type = 'mixed'"
            " WHERE property_catalog.type <> excluded.type AND property_catalog.type <> 'mixed'",
            types,
        )


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
    request_hash: bytes | None = None,
) -> IngestResult:
    """The body of :meth:`Store.ingest`, run inside a write transaction."""
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
    event_flags = _append(tx, app_id, "event", events, arrival_ms) if events else []
    decision_flags = _append(tx, app_id, "decision", decisions, arrival_ms) if decisions else []
    _update_catalogs(
        tx,
        app_id,
        events=events,
        flags=event_flags,
        decisions=decisions,
        decision_flags=decision_flags,
        custom_properties=custom_properties,
    )
    outcome = IngestOutcome(events=event_flags, decisions=decision_flags)
    response: StoredResponse | None = None
    if request_id is not None:
        if render is None:
            raise ValueError("ingest with a request_id needs render to build the stored response")
        response = render(outcome)
        tx.execute(
            "UPDATE request_responses SET status = ?, body = ? WHERE app_id = ? AND request_id = ?",
            (response.status, response.body, app_id, request_id),
        )
    return IngestResult(response, outcome, False)


class EventLogMixin:
    """Event-log methods of :class:`~tidings.storage.base.Store` for the SQL backends."""

    _engine: Engine
    _append_waiters: set[asyncio.Future[None]]

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
        request_hash: bytes | None = None,
    ) -> IngestResult:
        if request_id is not None and render is None:
            raise ValueError("ingest with a request_id needs render to build the stored response")
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
                request_hash=request_hash,
            )
        )
        outcome = result.outcome
        if outcome is not None and (any(outcome.events) or any(outcome.decisions)):
            self._wake_appended()
        return result

    async def stored_response(self, app_id: str, request_id: str) -> StoredResponse | None:
        return await self._engine.read(lambda tx: _stored_response(tx, app_id, request_id))

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

    async def recent_events(self, app_id: str, limit: int = 50) -> list[LogRecord]:
        return await self._engine.read(
            lambda tx: logbatch.read_backward(tx, app_id, "event", limit)
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
