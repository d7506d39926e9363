"""The event log, cursors and stats roles of the memory store.

An append is one critical section under the state's lock: the request id, the records, the
catalogs and the stored response change together or not at all, as in one SQL transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from tidings.core.events import SYSTEM_EVENT_NAMES
from tidings.storage.catalogs import CatalogLimits, refused_indices
from tidings.storage.counting import (
    catalog_with_system_events,
    counts_by_id,
    fold_stats,
    property_types,
    tally,
)
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
from tidings.storage.memory.state import MemoryState
from tidings.storage.paging import After, page_of
from tidings.storage.records import CampaignStats, EventCatalogEntry, PropertyCatalogEntry


class MemoryLog:
    """Appends, reads, cursors and counters over a :class:`MemoryState`."""

    _state: MemoryState
    _append_waiters: set[asyncio.Future[None]]
    poll_interval: float = 0.05
    """Seconds between checks for appends made through another store on the same state."""

    def _fresh(
        self, app_id: str, kind: LogKind, items: Sequence[EventIn | DecisionIn]
    ) -> list[bool]:
        """Per item: new to the log (and not a repeat within ``items``)."""
        ids = self._state.log_ids
        seen: set[str] = set()
        flags = []
        for item in items:
            new = (app_id, kind, item.id) not in ids and item.id not in seen
            seen.add(item.id)
            flags.append(new)
        return flags

    def _append(
        self,
        app_id: str,
        kind: LogKind,
        items: Sequence[EventIn | DecisionIn],
        flags: Sequence[bool],
        arrival_ms: int,
    ) -> None:
        log = self._state.log
        for item, new in zip(items, flags, strict=True):
            if not new:
                continue
            self._state.log_ids.add((app_id, kind, item.id))
            seq = len(log) + 1
            if isinstance(item, EventIn):
                record = LogRecord(
                    seq,
                    app_id,
                    kind,
                    item.id,
                    item.name,
                    item.timestamp,
                    arrival_ms,
                    item.prefix + item.payload,
                    item.device_id,
                    item.user_id,
                    item.prefix,
                )
            else:
                record = LogRecord(
                    seq,
                    app_id,
                    kind,
                    item.id,
                    item.campaign_id,
                    item.timestamp,
                    arrival_ms,
                    item.payload,
                    item.device_id,
                    item.user_id,
                )
            log.append(record)

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
        limits = catalog_limits or CatalogLimits()
        check_render(request_id, render)
        state = self._state
        with state.lock:
            if request_id is not None and (app_id, request_id) in state.responses:
                return IngestResult(state.responses[(app_id, request_id)][0], None, True)
            # Everything that can fail (render) runs before anything changes: all or nothing.
            refused = self._refused(app_id, events, limits.event_names)
            event_flags = self._fresh(app_id, "event", events)
            for index in refused:
                event_flags[index] = False
            decision_flags = self._fresh(app_id, "decision", decisions)
            outcome = IngestOutcome(events=event_flags, decisions=decision_flags, refused=refused)
            catalog, stats = tally(events, event_flags, decisions, decision_flags)
            response = None
            if request_id is not None:
                assert render is not None
                response = render(outcome)
                stored = StoredResponse(response.status, response.body, request_hash)
                state.responses[(app_id, request_id)] = (stored, arrival_ms)
            self._append(app_id, "event", events, event_flags, arrival_ms)
            self._append(app_id, "decision", decisions, decision_flags, arrival_ms)
            for (name, typ), (count, last) in catalog.items():
                entry = state.event_catalog.setdefault((app_id, name, typ), [0, last])
                entry[0] += count
                entry[1] = max(entry[1], last)
            for key, n in stats.items():
                state.campaign_stats[key] = state.campaign_stats.get(key, 0) + n
            self._record_properties(app_id, custom_properties, limits.property_keys)
        if any(event_flags) or any(decision_flags):
            self._wake_appended()
        return IngestResult(response, outcome, False)

    def _append_decisions(
        self, app_id: str, decisions: Sequence[DecisionIn], arrival_ms: int
    ) -> bool:
        """Append decisions and count their stats; the caller holds the lock. Returns whether
        any was new."""
        state = self._state
        flags = self._fresh(app_id, "decision", decisions)
        _, stats = tally([], [], decisions, flags)
        self._append(app_id, "decision", decisions, flags, arrival_ms)
        for key, n in stats.items():
            state.campaign_stats[key] = state.campaign_stats.get(key, 0) + n
        return any(flags)

    def _record_properties(
        self, app_id: str, custom_properties: Mapping[str, Any] | None, limit: int
    ) -> None:
        """Catalogue a custom-property map's keys (new ones up to ``limit``, a second type
        makes a key ``mixed``); the caller holds the lock."""
        state = self._state
        room = limit - sum(1 for a, _ in state.property_catalog if a == app_id)
        for prop, typ in property_types(custom_properties):
            old = state.property_catalog.get((app_id, prop))
            if old is None:
                if room <= 0:
                    continue
                room -= 1
            state.property_catalog[(app_id, prop)] = typ if old in (None, typ) else "mixed"

    def _refused(self, app_id: str, events: Sequence[EventIn], limit: int) -> list[int]:
        """Indices of events whose new custom name would take the app's catalog past
        ``limit`` (the SQL store's rule)."""
        known = {n for (a, n, t) in self._state.event_catalog if a == app_id and t == "custom"}
        fresh = list(
            dict.fromkeys(
                e.name for e in events if e.name not in known and e.name not in SYSTEM_EVENT_NAMES
            )
        )
        return refused_indices(events, fresh, limit - len(known)) if fresh else []

    async def stored_response(self, app_id: str, request_id: str) -> StoredResponse | None:
        with self._state.lock:
            stored = self._state.responses.get((app_id, request_id))
        return stored[0] if stored is not None else None

    async def prune_responses(self, older_than_ms: int) -> int:
        with self._state.lock:
            old = [k for k, (_, at) in self._state.responses.items() if at < older_than_ms]
            for key in old:
                del self._state.responses[key]
        return len(old)

    async def last_seq(self) -> int:
        return len(self._state.log)

    def _wake_appended(self) -> None:
        waiters, self._append_waiters = self._append_waiters, set()
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def wait_for_append(self, after_seq: int, timeout: float) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self._state.log) <= after_seq:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            waiter: asyncio.Future[None] = loop.create_future()
            self._append_waiters.add(waiter)
            try:
                await asyncio.wait_for(waiter, min(remaining, self.poll_interval))
            except TimeoutError:
                pass
            finally:
                self._append_waiters.discard(waiter)
        return True

    async def read_log(self, after_seq: int, limit: int = 1000) -> list[LogRecord]:
        with self._state.lock:
            return self._state.log[max(0, after_seq) : max(0, after_seq) + limit]

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
        out: list[LogRecord] = []
        with self._state.lock:
            for record in self._state.log[max(0, after_seq) :]:
                if (
                    record.app_id == app_id
                    and from_ms <= record.timestamp < to_ms
                    and (kind is None or record.kind == kind)
                ):
                    out.append(record)
                    if len(out) >= limit:
                        break
        return out

    async def recent_events(
        self, app_id: str, limit: int = 50, *, before_seq: int | None = None
    ) -> list[LogRecord]:
        out: list[LogRecord] = []
        with self._state.lock:
            log = self._state.log
            end = len(log) if before_seq is None else max(0, min(len(log), before_seq - 1))
            for record in reversed(log[:end]):
                if len(out) >= limit:
                    break
                if record.app_id == app_id and record.kind == "event":
                    out.append(record)
        return out

    # cursors ---------------------------------------------------------------------------------

    async def read_after(self, cursor: str, limit: int = 1000) -> list[LogRecord]:
        with self._state.lock:
            position = self._state.cursors.get(cursor, 0)
        return await self.read_log(position, limit)

    async def count_batch(
        self, cursor: str, batch: Sequence[Counted], limits: CatalogLimits | None = None
    ) -> int:
        bounds = limits or CatalogLimits()
        state = self._state
        with state.lock:
            position = state.cursors.get(cursor, 0)
            fresh = [c for c in batch if c.seq > position]
            for c in fresh:
                self._record_properties(c.app_id, c.custom_properties, bounds.property_keys)
                if counts_by_id(c.item):  # campaign stats count each id once (see eventlog)
                    kind = "event" if isinstance(c.item, EventIn) else "decision"
                    seen = (c.app_id, kind, c.item.id)
                    if seen in state.counted_ids:
                        continue
                    state.counted_ids.add(seen)
                events = [c.item] if isinstance(c.item, EventIn) else []
                if events and self._refused(c.app_id, events, bounds.event_names):
                    events = []  # a new name past the limit: not counted
                decisions = [c.item] if isinstance(c.item, DecisionIn) else []
                catalog, stats = tally(
                    events, [True] * len(events), decisions, [True] * len(decisions)
                )
                for (name, typ), (count, last) in catalog.items():
                    entry = state.event_catalog.setdefault((c.app_id, name, typ), [0, last])
                    entry[0] += count
                    entry[1] = max(entry[1], last)
                for key, n in stats.items():
                    state.campaign_stats[key] = state.campaign_stats.get(key, 0) + n
            if batch:
                state.cursors[cursor] = max(position, *(c.seq for c in batch))
            return len(fresh)

    async def commit_cursor(self, cursor: str, seq: int) -> None:
        with self._state.lock:
            if self._state.cursors.get(cursor, -1) < seq:
                self._state.cursors[cursor] = seq

    async def reset_cursor(self, cursor: str, seq: int) -> None:
        with self._state.lock:
            self._state.cursors[cursor] = seq

    async def get_cursor(self, cursor: str) -> int:
        with self._state.lock:
            return self._state.cursors.get(cursor, 0)

    async def list_cursors(self) -> dict[str, int]:
        with self._state.lock:
            return dict(self._state.cursors)

    # catalogs and stats ----------------------------------------------------------------------

    async def event_catalog(
        self, app_id: str, *, after: After = None, limit: int | None = None
    ) -> list[EventCatalogEntry]:
        with self._state.lock:
            rows = [
                EventCatalogEntry(name, typ, count, last)
                for (app, name, typ), (count, last) in self._state.event_catalog.items()
                if app == app_id
            ]
        return page_of(catalog_with_system_events(rows), lambda e: (e.type, e.name), after, limit)

    async def property_catalog(
        self, app_id: str, *, after: After = None, limit: int | None = None
    ) -> list[PropertyCatalogEntry]:
        with self._state.lock:
            rows = [
                PropertyCatalogEntry(key, typ)
                for (app, key), typ in self._state.property_catalog.items()
                if app == app_id
            ]
        return page_of(rows, lambda e: (e.key,), after, limit)

    async def catalog_sizes(self, app_id: str) -> tuple[int, int]:
        with self._state.lock:
            names = sum(
                1 for (a, _, t) in self._state.event_catalog if a == app_id and t == "custom"
            )
            keys = sum(1 for (a, _) in self._state.property_catalog if a == app_id)
        return names, keys

    async def campaign_stats(self, campaign_id: str) -> CampaignStats:
        with self._state.lock:
            rows = sorted(
                (day, metric, key, n)
                for (cid, day, metric, key), n in self._state.campaign_stats.items()
                if cid == campaign_id
            )
        return fold_stats(campaign_id, rows)
