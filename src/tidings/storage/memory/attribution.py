"""The attribution role of the memory store: the SQL store's keys and counts, in dicts."""

from __future__ import annotations

from collections.abc import Sequence

from tidings.core.campaigns import Exposure
from tidings.core.campaigns.results import ConversionRow, ExposureRow
from tidings.storage.attribution import AttributionOutcome, ConversionIn, log_item
from tidings.storage.clock import now_ms
from tidings.storage.counting import utc_day
from tidings.storage.memory.log import MemoryLog


class MemoryAttribution(MemoryLog):
    """Exposures and conversions over a :class:`MemoryState`, logged like the SQL store."""

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
        state = self._state
        stored = 0
        first: list[ConversionIn] = []
        repeats = 0
        with state.lock:
            for e in exposures:
                key = (e.campaign_id, e.decision_id)
                if key in state.exposures:
                    continue
                state.exposures[key] = e
                state.exposures_of.setdefault((e.app_id, e.identity), []).append(e)
                stored += 1
            for item in conversions:
                c = item.conversion
                e = c.exposure
                key4 = (e.campaign_id, e.decision_id, c.goal, c.event_id)
                if key4 in state.conversions:
                    continue
                had = (e.campaign_id, e.decision_id, c.goal) in state.converted
                state.conversions[key4] = (not had, utc_day(e.timestamp), e.treatment_id)
                if had:
                    repeats += 1
                else:
                    state.converted.add((e.campaign_id, e.decision_id, c.goal))
                    first.append(item)
            for item in first:
                row = log_item(item)
                app_id = item.conversion.exposure.app_id
                flags = self._fresh(app_id, "conversion", [row])
                self._append(app_id, "conversion", [row], flags, at)
            if cursor is not None and state.cursors.get(cursor, 0) < seq:
                state.cursors[cursor] = seq
        if first:
            self._wake_appended()
        return AttributionOutcome(stored, first, repeats)

    async def open_exposures(
        self, app_id: str, identities: Sequence[str], since_ms: int
    ) -> list[Exposure]:
        with self._state.lock:
            found = [
                e
                for identity in dict.fromkeys(identities)
                for e in self._state.exposures_of.get((app_id, identity), ())
                if e.timestamp >= since_ms
            ]
        return sorted(found, key=lambda e: (e.timestamp, e.decision_id))

    async def conversion_counts(
        self, campaign_id: str, first_day: str, last_day: str
    ) -> tuple[list[ExposureRow], list[ConversionRow]]:
        exposed: dict[tuple[str, str | None], int] = {}
        converted: dict[tuple[str, str | None, int], list[int]] = {}
        with self._state.lock:
            for (cid, _), e in self._state.exposures.items():
                day = utc_day(e.timestamp)
                if cid == campaign_id and first_day <= day <= last_day:
                    exposed[(day, e.treatment_id)] = exposed.get((day, e.treatment_id), 0) + 1
            for (cid, _, goal, _), (is_first, day, treatment) in self._state.conversions.items():
                if cid == campaign_id and first_day <= day <= last_day:
                    counts = converted.setdefault((day, treatment, goal), [0, 0])
                    counts[0 if is_first else 1] += 1
        return (
            [(d, t, n) for (d, t), n in exposed.items()],
            [(d, t, g, f, r) for (d, t, g), (f, r) in converted.items()],
        )
