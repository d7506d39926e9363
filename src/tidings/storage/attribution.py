"""Conversion attribution state: exposures, conversions, and the counts results are built from.

The attribution consumer (``tidings.pipeline.conversions``) hands each batch's exposures and
conversions to :meth:`~tidings.storage.roles.Attribution.record_attribution`, which stores them,
appends a ``conversion`` log row for each first conversion (so stream sinks and destinations
see it) and moves the consumer's cursor, all in one transaction. Every key is natural (decision
id; decision, goal and event id), so a batch handed over twice changes nothing the second time.

This module holds the SQL side (the ``SqlStore`` mixin) and the helpers both backends share.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tidings.core.campaigns import Conversion, Exposure
from tidings.core.campaigns.results import ConversionRow, ExposureRow
from tidings.storage.clock import now_ms
from tidings.storage.counting import utc_day
from tidings.storage.engine import Engine, Tx
from tidings.storage.eventlog import EventLogMixin, append_items
from tidings.storage.logrecords import DecisionIn

CONVERSION_STATUS = "CONVERSION"
"""The ``status`` column of a conversion's log row (its ``name`` is the campaign id)."""


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


def record_tx(
    tx: Tx,
    exposures: Sequence[Exposure],
    conversions: Sequence[ConversionIn],
    *,
    arrival_ms: int,
    cursor: str | None,
    seq: int,
) -> AttributionOutcome:
    """The body of ``record_attribution``, inside one write transaction."""
    stored_exposures = 0
    for exposure in exposures:
        cur = tx.execute(
            "INSERT INTO campaign_exposures"
            " (campaign_id, decision_id, app_id, identity, treatment_id, ts, day, seq,"
            " trigger_event_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (campaign_id, decision_id) DO NOTHING",
            _exposure_row(exposure),
        )
        stored_exposures += max(0, int(cur.rowcount))
    first: list[ConversionIn] = []
    repeats = 0
    for item in conversions:
        c = item.conversion
        e = c.exposure
        had = tx.scalar(
            "SELECT MAX(is_first) FROM campaign_conversions"
            " WHERE campaign_id = ? AND decision_id = ? AND goal = ?",
            (e.campaign_id, e.decision_id, c.goal),
        )
        cur = tx.execute(
            "INSERT INTO campaign_conversions"
            " (campaign_id, decision_id, goal, event_id, is_first, ts, day, treatment_id)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (campaign_id, decision_id, goal, event_id) DO NOTHING",
            (
                e.campaign_id,
                e.decision_id,
                c.goal,
                c.event_id,
                0 if had else 1,
                c.timestamp,
                utc_day(e.timestamp),
                e.treatment_id,
            ),
        )
        if int(cur.rowcount) <= 0:
            continue
        if had:
            repeats += 1
        else:
            first.append(item)
    by_app: dict[str, list[DecisionIn]] = defaultdict(list)
    for item in first:
        by_app[item.conversion.exposure.app_id].append(log_item(item))
    for app_id, rows in by_app.items():
        append_items(tx, app_id, "conversion", rows, arrival_ms)
    if cursor is not None:
        tx.execute(
            "INSERT INTO cursors (name, seq, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET seq = excluded.seq,"
            " updated_at = excluded.updated_at WHERE cursors.seq < excluded.seq",
            (cursor, seq, arrival_ms),
        )
    return AttributionOutcome(stored_exposures, first, repeats)


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
    ) -> AttributionOutcome:
        at = now_ms() if arrival_ms is None else arrival_ms
        outcome = await self._engine.write(
            lambda tx: record_tx(tx, exposures, conversions, arrival_ms=at, cursor=cursor, seq=seq)
        )
        if outcome.first:
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
