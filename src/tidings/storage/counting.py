"""What appends add to the catalogs and campaign stats, and how stats rows fold into totals.

Pure functions shared by every backend: the SQL store writes the tallies with upserts in the
append's transaction, the memory store adds them to its dicts, and both answer the admin API
with the same folding.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tidings.core.events import CAMPAIGN_RESOLVED, CAMPAIGN_SHOWN, SYSTEM_EVENT_NAMES
from tidings.storage.logrecords import DecisionIn, EventIn
from tidings.storage.records import (
    CampaignStats,
    DayStats,
    EventCatalogEntry,
    PropertyType,
)

_MS_PER_DAY = 86_400_000
_DAY_CACHE: dict[int, str] = {}

CatalogTally = dict[tuple[str, str], list[int]]
"""``(name, type) -> [count, newest timestamp]`` of the events one append stored."""
StatsTally = dict[tuple[str, str, str, str], int]
"""``(campaign id, UTC day, metric, key) -> count`` of one append."""


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


def counts_by_id(item: EventIn | DecisionIn) -> bool:
    """Whether a record feeds the campaign stats, which a log kept outside the database counts
    once per id (a decision, or a ``CampaignShown`` / ``CampaignResolved`` event)."""
    if isinstance(item, DecisionIn):
        return True
    return item.properties is not None and item.name in (CAMPAIGN_SHOWN, CAMPAIGN_RESOLVED)


def tally(
    events: Sequence[EventIn],
    flags: Sequence[bool],
    decisions: Sequence[DecisionIn],
    decision_flags: Sequence[bool],
) -> tuple[CatalogTally, StatsTally]:
    """The catalog and stats counts of the items one append stored now (``flags``): duplicates
    count nothing, so counts stay exact under retries."""
    catalog: CatalogTally = {}
    stats: StatsTally = {}
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
    return catalog, stats


def property_types(custom_properties: Mapping[str, Any] | None) -> list[tuple[str, PropertyType]]:
    """``(key, type)`` of the custom properties whose values have a catalog type."""
    if not custom_properties:
        return []
    return [(k, t) for k, v in custom_properties.items() if (t := infer_type(v))]


def catalog_with_system_events(entries: Iterable[EventCatalogEntry]) -> list[EventCatalogEntry]:
    """The stored entries plus every system event never seen (count 0), by type then name."""
    out = {(e.name, e.type): e for e in entries}
    for name in SYSTEM_EVENT_NAMES:
        out.setdefault((name, "system"), EventCatalogEntry(name, "system", 0, None))
    return sorted(out.values(), key=lambda e: (e.type, e.name))


def fold_stats(campaign_id: str, rows: Iterable[tuple[str, str, str, int]]) -> CampaignStats:
    """``(day, metric, key, count)`` rows, sorted by day, as totals and per-day counters."""
    totals: dict[str, dict[str, int]] = {"decision": {}, "resolved": {}, "unavailable": {}}
    shown = 0
    days: dict[str, dict[str, dict[str, int]]] = {}
    day_shown: dict[str, int] = {}
    for day, metric, key, count in rows:
        n = int(count)
        if metric == "shown":
            shown += n
            day_shown[day] = day_shown.get(day, 0) + n
            days.setdefault(day, {"decision": {}, "resolved": {}, "unavailable": {}})
            continue
        totals[metric][key] = totals[metric].get(key, 0) + n
        per_day = days.setdefault(day, {"decision": {}, "resolved": {}, "unavailable": {}})
        per_day[metric][key] = per_day[metric].get(key, 0) + n
    by_day = [
        DayStats(
            day=day,
            decisions=metrics["decision"],
            shown=day_shown.get(day, 0),
            resolved=metrics["resolved"],
            unavailable_reasons=metrics["unavailable"],
        )
        for day, metrics in sorted(days.items())
    ]
    return CampaignStats(
        campaign_id=campaign_id,
        decisions=totals["decision"],
        shown=shown,
        resolved=totals["resolved"],
        unavailable_reasons=totals["unavailable"],
        by_day=by_day,
    )
