"""Conversion attribution state: exposures, conversions, and the counts results are built from.

The attribution consumer (``tidings.pipeline.conversions``) hands each batch's exposures and
conversions to :meth:`~tidings.storage.roles.Attribution.record_attribution`, which stores them,
appends a ``conversion`` log row for each first conversion (so stream sinks and destinations
see it) and moves the consumer's cursor, all in one transaction. Every key is natural (decision
id; decision, goal and event id), so a batch handed over twice changes nothing the second time.

With the log elsewhere (JetStream) the caller passes ``queue_log``: the log rows are then
written, in the same transaction, as outbox rows of a queue the caller appends from after the
commit (``tidings.storage.jetstream.results``), so none is lost between the two.

This module holds the SQL side (the ``SqlStore`` mixin) and the helpers both backends share.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tidings.core.campaigns import Conversion, Exposure
from tidings.core.campaigns.results import ConversionRow, ExposureRow
from tidings.storage.clock import now_ms
from tidings.storage.counting import utc_day
from tidings.storage.deliveryrecords import OutboxItem
from tidings.storage.engine import Engine, Tx
from tidings.storage.eventlog import EventLogMixin, append_items
from tidings.storage.logrecords import DecisionIn
from tidings.storage.outbox import _insert_items

CONVERSION_STATUS = "CONVERSION"
"""The ``status`` column of a conversion's log row (its ``name`` is the campaign id)."""

QueueLog = Callable[[Sequence[tuple[str, DecisionIn]], int], Sequence[tuple[str, OutboxItem]]]
"""Given a batch's first conversions' ``(app id, log row)`` and the arrival time: the
``(outbox name, item)`` rows that stand for them until they are appended to a log kept outside
the database."""


@dataclass(frozen=True, slots=True)
class ConversionIn:
    """A conversion to store, with the log row written when it is the first of its decision
    and goal: ``payload`` (see ``tidings.pipeline.conversions``) and the identity columns."""

    conversion: Conversion
    payload: bytes
    device_id: str | None = None
    user_id: str | None = None

    @property
    def log_id(self) -> str:
        """The conversion's id in the log: one first conversion per decision and goal."""
        c = self.conversion
        return f"{c.exposure.decision_id}/{c.goal}"


@dataclass(frozen=True, slots=True)
class AttributionOutcome:
    """What one :meth:`record_attribution` call stored now (repeats of earlier calls: none)."""

    exposures: int
    first: list[ConversionIn]
    repeats: int


def log_item(item: ConversionIn) -> DecisionIn:
    """The log row of a first conversion (shaped as a decision row: id, campaign, status)."""
    c = item.conversion
    return DecisionIn(
        id=item.log_id,
        campaign_id=c.exposure.campaign_id,
        status=CONVERSION_STATUS,
        timestamp=c.timestamp,
        payload=item.payload,
        device_id=item.device_id,
        user_id=item.user_id,
    )


def _exposure_row(e: Exposure) -> tuple[Any, ...]:
    return (
        e.campaign_id,
        e.decision_id,
        e.app_id,
        e.identity,
        e.treatment_id,
        e.timestamp,
        utc_day(e.timestamp),
        e.seq,
        e.trigger_event_id,
    )


def _chunks(items: Sequence[str], size: int = 200) -> list[Sequence[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _known_exposures(tx: Tx, exposures: Sequence[Exposure]) -> set[tuple[str, str]]:
    """(campaign, decision) of those of ``exposures`` already stored: one query per campaign
    and 200 decisions."""
    by_campaign: dict[str, list[str]] = defaultdict(list)
    for e in exposures:
        by_campaign[e.campaign_id].append(e.decision_id)
    found: set[tuple[str, str]] = set()
    for campaign_id, ids in by_campaign.items():
        for chunk in _chunks(list(dict.fromkeys(ids))):
            rows = tx.all(
                "SELECT decision_id FROM campaign_exposures WHERE campaign_id = ?"
                f" AND decision_id IN ({', '.join('?' * len(chunk))})",
                (campaign_id, *chunk),
            )
            found.update((campaign_id, str(r[0])) for r in rows)
    return found


def _known_conversions(
    tx: Tx, conversions: Sequence[ConversionIn]
) -> tuple[set[tuple[str, str, int, str]], set[tuple[str, str, int]]]:
    """The stored (campaign, decision, goal, event id) keys of the decisions ``conversions``
    name, and the (campaign, decision, goal) that have their first conversion."""
    by_campaign: dict[str, list[str]] = defaultdict(list)
    for item in conversions:
        e = item.conversion.exposure
        by_campaign[e.campaign_id].append(e.decision_id)
    keys: set[tuple[str, str, int, str]] = set()
    firsts: set[tuple[str, str, int]] = set()
    for campaign_id, ids in by_campaign.items():
        for chunk in _chunks(list(dict.fromkeys(ids))):
            rows = tx.all(
                "SELECT decision_id, goal, event_id, is_first FROM campaign_conversions"
                f" WHERE campaign_id = ? AND decision_id IN ({', '.join('?' * len(chunk))})",
                (campaign_id, *chunk),
            )
            for decision_id, goal, event_id, is_first in rows:
                keys.add((campaign_id, str(decision_id), int(goal), str(event_id)))
                if is_first:
                    firsts.add((campaign_id, str(decision_id), int(goal)))
    return keys, firsts


def record_tx(
    tx: Tx,
    exposures: Sequence[Exposure],
    conversions: Sequence[ConversionIn],
    *,
    arrival_ms: int,
    cursor: str | None,
    seq: int,
    queue_log: QueueLog | None = None,
) -> AttributionOutcome:
    """The body of ``record_attribution``, inside one write transaction: what is already stored
    is read first (a few queries per batch), then the new rows go in with one statement each
    table. With ``queue_log`` the log rows of first conversions become the outbox rows it makes
    (for a log that is not in this database) instead of log rows."""
    known = _known_exposures(tx, exposures) if exposures else set()
    new_exposures: dict[tuple[str, str], Exposure] = {}
    for e in exposures:
        pair = (e.campaign_id, e.decision_id)
        if pair not in known:
            new_exposures.setdefault(pair, e)
    tx.executemany(
        "INSERT INTO campaign_exposures"
        " (campaign_id, decision_id, app_id, identity, treatment_id, ts, day, seq,"
        " trigger_event_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (campaign_id, decision_id) DO NOTHING",
        [_exposure_row(e) for e in new_exposures.values()],
    )
    keys, firsts = _known_conversions(tx, conversions) if conversions else (set(), set())
    first: list[ConversionIn] = []
    repeats = 0
    inserts: list[tuple[Any, ...]] = []
    for item in conversions:
        c = item.conversion
        e = c.exposure
        key = (e.campaign_id, e.decision_id, c.goal, c.event_id)
        if key in keys:
            continue
        keys.add(key)
        had = key[:3] in firsts
        if had:
            repeats += 1
        else:
            firsts.add(key[:3])
            first.append(item)
        inserts.append(
            (
                *key,
                0 if had else 1,
                c.timestamp,
                utc_day(e.timestamp),
                e.treatment_id,
            )
        )
    tx.executemany(
        "INSERT INTO campaign_conversions"
        " (campaign_id, decision_id, goal, event_id, is_first, ts, day, treatment_id)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (campaign_id, decision_id, goal, event_id) DO NOTHING",
        inserts,
    )
    if queue_log is not None:
        logged = [(item.conversion.exposure.app_id, log_item(item)) for item in first]
        queued: dict[str, list[OutboxItem]] = defaultdict(list)
        for queue, row in queue_log(logged, arrival_ms) if logged else ():
            queued[queue].append(row)
        for queue, rows in queued.items():
            _insert_items(tx, queue, rows, arrival_ms)
    else:
        by_app: dict[str, list[DecisionIn]] = defaultdict(list)
        for item in first:
            by_app[item.conversion.exposure.app_id].append(log_item(item))
        for app_id, app_rows in by_app.items():
            append_items(tx, app_id, "conversion", app_rows, arrival_ms)
    if cursor is not None:
        tx.execute(
            "INSERT INTO cursors (name, seq, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET seq = excluded.seq,"
            " updated_at = excluded.updated_at WHERE cursors.seq < excluded.seq",
            (cursor, seq, arrival_ms),
        )
    return AttributionOutcome(len(new_exposures), first, repeats)


def open_exposures_tx(
    tx: Tx, app_id: str, identities: Sequence[str], since_ms: int
) -> list[Exposure]:
    out: list[Exposure] = []
    unique = list(dict.fromkeys(identities))
    for start in range(0, len(unique), 200):
        chunk = unique[start : start + 200]
        marks = ", ".join("?" * len(chunk))
        rows = tx.all(
            "SELECT campaign_id, decision_id, identity, treatment_id, ts, seq, trigger_event_id"
            " FROM campaign_exposures"
            f" WHERE app_id = ? AND identity IN ({marks}) AND ts >= ? ORDER BY ts, decision_id",
            (app_id, *chunk, since_ms),
        )
        out.extend(Exposure(app_id, str(r[0]), str(r[1]), str(r[2]), r[3], int(r[4])) for r in rows)
    return out


def counts_tx(
    tx: Tx, campaign_id: str, first_day: str, last_day: str
) -> tuple[list[ExposureRow], list[ConversionRow]]:
    exposures = tx.all(
        "SELECT day, treatment_id, COUNT(*) FROM campaign_exposures"
        " WHERE campaign_id = ? AND day >= ? AND day <= ? GROUP BY day, treatment_id",
        (campaign_id, first_day, last_day),
    )
    conversions = tx.all(
        "SELECT day, treatment_id, goal, SUM(is_first), COUNT(*) - SUM(is_first)"
        " FROM campaign_conversions WHERE campaign_id = ? AND day >= ? AND day <= ?"
        " GROUP BY day, treatment_id, goal",
        (campaign_id, first_day, last_day),
    )
    return (
        [(str(d), t, int(n)) for d, t, n in exposures],
        [(str(d), t, int(g), int(f), int(r)) for d, t, g, f, r in conversions],
    )


class AttributionMixin(EventLogMixin):
    """The attribution role of ``SqlStore`` (on the event log: first conversions are logged)."""

    _engine: Engine

    async def record_attribution(
        self,
        exposures: Sequence[Exposure],
        conversions: Sequence[ConversionIn],
        *,
        cursor: str | None = None,
        seq: int = 0,
        arrival_ms: int | None = None,
        queue_log: QueueLog | None = None,
    ) -> AttributionOutcome:
        """See ``record_tx`` (``queue_log``: a log outside the database)."""
        at = now_ms() if arrival_ms is None else arrival_ms
        outcome = await self._engine.write(
            lambda tx: record_tx(
                tx,
                exposures,
                conversions,
                arrival_ms=at,
                cursor=cursor,
                seq=seq,
                queue_log=queue_log,
            )
        )
        if outcome.first and queue_log is None:
            self._wake_appended()
        return outcome

    async def open_exposures(
        self, app_id: str, identities: Sequence[str], since_ms: int
    ) -> list[Exposure]:
        if not identities:
            return []
        return await self._engine.read(
            lambda tx: open_exposures_tx(tx, app_id, identities, since_ms)
        )

    async def conversion_counts(
        self, campaign_id: str, first_day: str, last_day: str
    ) -> tuple[list[ExposureRow], list[ConversionRow]]:
        return await self._engine.read(lambda tx: counts_tx(tx, campaign_id, first_day, last_day))
