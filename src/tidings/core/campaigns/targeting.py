"""Targeting slots (the Who of a campaign). Every item must hold (AND).

A missing attribute satisfies only ``isNotSet``, ``notEqual``, ``exclude`` and the
``moreThanDaysAgoOrNever`` mode; everything else needs the attribute to be present.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Final

from tidings.core.campaigns import reader as r
from tidings.core.campaigns.context import EvaluationContext
from tidings.core.campaigns.trigger import EventFilter, parse_event_filter, parse_scalar
from tidings.core.campaigns.values import (
    DAY_MS,
    NUMBER_OPS,
    UNIT_MS,
    Op,
    Scalar,
    ValueType,
    compare,
    compare_instants,
    convert,
    parse_version,
    to_number,
)

if TYPE_CHECKING:
    from tidings.core.campaigns.state import EngineState

MAX_EVENT_CONDITIONS: Final = 20
VERSION_SLOTS: Final = {
    "osVersion": "os_version",
    "appVersion": "app_version",
    "appInstallVersion": "app_install_version",
}
LIST_SLOTS: Final = ("country", "application", "cohort")
SLOT_NAMES: Final = (
    *VERSION_SLOTS,
    *LIST_SLOTS,
    "customProperty",
    "installDate",
    "eventCount",
    "eventDate",
)
PROPERTY_VALUE_TYPES: Final = ("string", "number", "boolean", "datetime")
EVENT_DATE_MODES: Final = (
    "moreThanDaysAgo",
    "moreThanDaysAgoOrNever",
    "withinLastDays",
    "beforeDate",
    "afterDate",
)
RELATIVE_UNITS: Final = ("minutes", "hours", "days")
INSTANT: Final = "must be epoch milliseconds or an ISO-8601 date"


@dataclass(frozen=True, slots=True)
class DateValue:
    """An absolute instant, or "now minus ``relative_ms``"."""

    absolute_ms: int | None
    relative_ms: int | None

    def resolve(self, now_ms: int) -> int:
        if self.absolute_ms is not None:
            return self.absolute_ms
        return now_ms - (self.relative_ms or 0)


@dataclass(frozen=True, slots=True)
class VersionSlot:
    attribute: str
    op: Op
    value: tuple[int, ...] | None

    def holds(self, ctx: EvaluationContext, state: EngineState, now_ms: int) -> bool:
        raw = getattr(ctx.profile, self.attribute)
        device = parse_version(raw) if isinstance(raw, str) else None
        return compare(self.op, device, self.value)


@dataclass(frozen=True, slots=True)
class ListSlot:
    """``country`` (ISO codes, case-insensitive), ``application`` and ``cohort``."""

    slot: str
    include: bool
    values: frozenset[str]

    def holds(self, ctx: EvaluationContext, state: EngineState, now_ms: int) -> bool:
        if self.slot == "cohort":
            member = not self.values.isdisjoint(ctx.cohorts)
        elif self.slot == "country":
            country = ctx.profile.country
            member = country is not None and country.upper() in self.values
        else:
            member = ctx.profile.application in self.values
        return member if self.include else not member


@dataclass(frozen=True, slots=True)
class CustomPropertySlot:
    key: str
    op: Op
    value_type: ValueType
    value: Scalar | None
    date: DateValue | None

    def holds(self, ctx: EvaluationContext, state: EngineState, now_ms: int) -> bool:
        raw = ctx.custom_properties.get(self.key)
        if self.value_type == "datetime":
            instant = None if raw is None else read_instant(raw)
            if self.op in ("set", "notset"):
                return compare(self.op, None if raw is None else raw, None)
            if self.date is not None:
                return compare_instants(self.op, instant, self.date.resolve(now_ms))
            return compare_instants(self.op, instant, self.value)  # type: ignore[arg-type]
        if self.op in ("set", "notset"):
            return compare(self.op, raw, None)
        left = None if raw is None else convert(raw, self.value_type)
        return compare(self.op, left, self.value)


@dataclass(frozen=True, slots=True)
class InstallDateSlot:
    op: Op
    date: DateValue | None

    def holds(self, ctx: EvaluationContext, state: EngineState, now_ms: int) -> bool:
        installed = ctx.profile.install_time
        if self.date is None:
            return compare(self.op, installed, None)
        return compare_instants(self.op, installed, self.date.resolve(now_ms))


@dataclass(frozen=True, slots=True)
class EventCountSlot:
    event: EventFilter
    op: Op
    value: int

    def holds(self, ctx: EvaluationContext, state: EngineState, now_ms: int) -> bool:
        return compare(self.op, state.count_of(self.event.signature), self.value)


@dataclass(frozen=True, slots=True)
class EventDateSlot:
    """``relative_ms`` for the relative modes; ``day_start_ms`` (UTC midnight) for before/after."""

    event: EventFilter
    bound: str
    mode: str
    relative_ms: int | None
    day_start_ms: int | None

    def holds(self, ctx: EvaluationContext, state: EngineState, now_ms: int) -> bool:
        first_last = state.first_last_of(self.event.signature)
        if first_last is None:
            return self.mode == "moreThanDaysAgoOrNever"
        at = first_last[0] if self.bound == "first" else first_last[1]
        if self.mode in ("moreThanDaysAgo", "moreThanDaysAgoOrNever"):
            return at < now_ms - (self.relative_ms or 0)
        if self.mode == "withinLastDays":
            return at >= now_ms - (self.relative_ms or 0)
        day = self.day_start_ms or 0
        if self.mode == "beforeDate":
            return at < day
        return at >= day + DAY_MS


Slot = (
    VersionSlot | ListSlot | CustomPropertySlot | InstallDateSlot | EventCountSlot | EventDateSlot
)


def read_instant(value: object) -> int | float | None:
    """Epoch ms from a number, numeric text, or ISO-8601 text (naive means UTC)."""
    number = to_number(value)
    if number is not None or not isinstance(value, str):
        return number
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return round(parsed.timestamp() * 1000)


def _op(item: r.JsonObj, path: str, allowed: tuple[str, ...] = tuple(NUMBER_OPS)) -> Op:
    return NUMBER_OPS[r.enum(item, "compareType", path, allowed)]


def parse_date_value(raw: object, path: str) -> DateValue:
    item = r.obj(raw, path)
    kind = r.enum(item, "type", path, ("absolute", "relative"))
    if kind == "absolute":
        raw_abs = item.get("absoluteValue")
        instant = None if raw_abs is None or isinstance(raw_abs, bool) else read_instant(raw_abs)
        if instant is None:
            r.fail(r.join(path, "absoluteValue"), r.required_or(INSTANT, raw_abs))
        return DateValue(int(instant), None)
    amount = r.integer(item, "relativeValue", path, minimum=0)
    unit = r.enum(item, "dimension", path, RELATIVE_UNITS, default="days")
    return DateValue(None, amount * UNIT_MS[unit])


def _version_slot(name: str, item: r.JsonObj, path: str) -> VersionSlot:
    op = _op(item, path)
    raw = item.get("value")
    if raw is None:
        if op not in ("set", "notset"):
            r.fail(r.join(path, "value"), "is required")
        return VersionSlot(VERSION_SLOTS[name], op, None)
    version = parse_version(raw) if isinstance(raw, str) else None
    if version is None:
        r.fail(r.join(path, "value"), "must be a dotted version such as 1.2.3")
    return VersionSlot(VERSION_SLOTS[name], op, version)


def _list_slot(name: str, item: r.JsonObj, path: str) -> ListSlot:
    include = r.enum(item, "type", path, ("include", "exclude")) == "include"
    values_path = r.join(path, "values")
    raw_values = r.arr(item.get("values"), values_path)
    values: set[str] = set()
    for i, value in enumerate(raw_values):
        if not isinstance(value, str) or not value:
            r.fail(f"{values_path}[{i}]", "must be a non-empty string")
        values.add(value.upper() if name == "country" else value)
    return ListSlot(name, include, frozenset(values))


def _custom_property_slot(item: r.JsonObj, path: str) -> CustomPropertySlot:
    key = r.string(item, "key", path)
    op = _op(item, path)
    value_type: ValueType = r.enum(  # type: ignore[assignment]
        item, "valueType", path, PROPERTY_VALUE_TYPES, default="string"
    )
    if op in ("set", "notset"):
        return CustomPropertySlot(key, op, value_type, None, None)
    if value_type == "datetime":
        raw_date = item.get("dateValue")
        if raw_date is not None:
            date_value = parse_date_value(raw_date, r.join(path, "dateValue"))
            return CustomPropertySlot(key, op, value_type, None, date_value)
        raw = item.get("value")
        instant = None if raw is None or isinstance(raw, bool) else read_instant(raw)
        if instant is None:
            r.fail(r.join(path, "value"), r.required_or(INSTANT, raw))
        return CustomPropertySlot(key, op, value_type, instant, None)
    value = parse_scalar(item.get("value"), value_type, r.join(path, "value"))
    return CustomPropertySlot(key, op, value_type, value, None)


def _install_date_slot(item: r.JsonObj, path: str) -> InstallDateSlot:
    op = _op(item, path)
    raw = item.get("value")
    if raw is None:
        if op not in ("set", "notset"):
            r.fail(r.join(path, "value"), "is required")
        return InstallDateSlot(op, None)
    return InstallDateSlot(op, parse_date_value(raw, r.join(path, "value")))


def _event_count_slot(item: r.JsonObj, path: str) -> EventCountSlot:
    event = parse_event_filter(item.get("event"), r.join(path, "event"))
    allowed = tuple(k for k in NUMBER_OPS if k not in ("isSet", "isNotSet"))
    op = _op(item, path, allowed)
    value = r.integer(item, "value", path, minimum=0)
    return EventCountSlot(event, op, value)


def _event_date_slot(item: r.JsonObj, path: str) -> EventDateSlot:
    event = parse_event_filter(item.get("event"), r.join(path, "event"))
    bound = r.enum(item, "bound", path, ("first", "last"))
    mode = r.enum(item, "mode", path, EVENT_DATE_MODES)
    has_relative = item.get("relativeValue") is not None
    has_absolute = item.get("absoluteValue") is not None
    if mode in ("beforeDate", "afterDate"):
        if has_relative or item.get("relativeUnit") is not None:
            r.fail(r.join(path, "relativeValue"), f"is not allowed with mode {mode}")
        text = item.get("absoluteValue")
        if not has_absolute:
            r.fail(r.join(path, "absoluteValue"), f"is required with mode {mode}")
        day = _calendar_day(text, r.join(path, "absoluteValue"))
        return EventDateSlot(event, bound, mode, None, day)
    if has_absolute:
        r.fail(r.join(path, "absoluteValue"), f"is not allowed with mode {mode}")
    amount = r.integer(item, "relativeValue", path, minimum=1)
    unit = r.enum(item, "relativeUnit", path, RELATIVE_UNITS, default="days")
    return EventDateSlot(event, bound, mode, amount * UNIT_MS[unit], None)


def _calendar_day(text: object, path: str) -> int:
    """UTC midnight (epoch ms) of a real calendar date ``YYYY-MM-DD``."""
    if not isinstance(text, str) or len(text) != 10 or text[4] != "-" or text[7] != "-":
        r.fail(path, "must be a date YYYY-MM-DD")
    try:
        day = date.fromisoformat(text)
    except ValueError:
        r.fail(path, "must be a real calendar date YYYY-MM-DD")
    return (day.toordinal() - date(1970, 1, 1).toordinal()) * DAY_MS


def parse_slot(raw: object, path: str) -> Slot:
    item = r.obj(raw, path)
    present = [name for name in SLOT_NAMES if item.get(name) is not None]
    if len(present) != 1:
        unknown = [k for k in item if k not in SLOT_NAMES and item.get(k) is not None]
        detail = f" (unknown: {', '.join(sorted(unknown))})" if unknown and not present else ""
        r.fail(path, f"must set exactly one of {', '.join(SLOT_NAMES)}{detail}")
    name = present[0]
    slot_path = r.join(path, name)
    body = r.obj(item[name], slot_path)
    if name in VERSION_SLOTS:
        return _version_slot(name, body, slot_path)
    if name in LIST_SLOTS:
        return _list_slot(name, body, slot_path)
    if name == "customProperty":
        return _custom_property_slot(body, slot_path)
    if name == "installDate":
        return _install_date_slot(body, slot_path)
    if name == "eventCount":
        return _event_count_slot(body, slot_path)
    return _event_date_slot(body, slot_path)


def parse_targeting(raw: object, path: str = "targeting") -> tuple[Slot, ...]:
    if raw is None:
        return ()
    problems = r.Problems()
    slots = tuple(problems.each(r.arr(raw, path), path, parse_slot))
    problems.raise_first()
    history = sum(isinstance(s, EventCountSlot | EventDateSlot) for s in slots)
    if history > MAX_EVENT_CONDITIONS:
        r.fail(path, f"at most {MAX_EVENT_CONDITIONS} event conditions (eventCount/eventDate)")
    return slots


def history_filters(slots: tuple[Slot, ...]) -> list[EventFilter]:
    """The event filters whose history these slots read (the engine keeps their aggregates)."""
    return [s.event for s in slots if isinstance(s, EventCountSlot | EventDateSlot)]
