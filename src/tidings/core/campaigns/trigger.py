"""Event filters: the campaign trigger and the ``event`` of event-history targeting slots.

A filter is ``{name, type, params}``. Its :attr:`EventFilter.signature` is a canonical, hashable
form (params sorted), so two campaigns that filter the same events share one occurrence counter and
one history aggregate in the engine state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from tidings.core.campaigns import reader as r
from tidings.core.campaigns.values import TRIGGER_OPS, Op, Scalar, ValueType, compare, convert

EVENT_TYPES: Final = ("custom", "system")
PARAM_VALUE_TYPES: Final = ("string", "number", "boolean")

ParamKey = tuple[str, str, str, str]
"""(name, compareType, valueType, value as text): one param in canonical form."""
Signature = tuple[str, str, tuple[ParamKey, ...]]
"""(event name, event type, sorted params): identifies a set of events for counting."""


@dataclass(frozen=True, slots=True)
class EventParam:
    """One ``params`` item: the event property ``name`` compared to ``value`` as ``value_type``."""

    name: str
    compare_type: str
    value_type: ValueType
    value: Scalar
    op: Op

    def holds(self, properties: Mapping[str, Any]) -> bool:
        """A missing or unreadable property fails every compare type except ``!==``."""
        raw = properties.get(self.name)
        left = None if raw is None else convert(raw, self.value_type)
        return compare(self.op, left, self.value)

    @property
    def key(self) -> ParamKey:
        return (self.name, self.compare_type, self.value_type, _text(self.value))


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Matches events by name, type and every param."""

    name: str
    type: str
    params: tuple[EventParam, ...]
    signature: Signature

    def matches(self, name: str, type_: str, properties: Mapping[str, Any]) -> bool:
        if name != self.name or type_ != self.type:
            return False
        return self.params_hold(properties)

    def params_hold(self, properties: Mapping[str, Any]) -> bool:
        return all(param.holds(properties) for param in self.params)

    def first_failing_param(self, properties: Mapping[str, Any]) -> int | None:
        """The index of the first param the properties do not satisfy (``None``: all hold)."""
        for i, param in enumerate(self.params):
            if not param.holds(properties):
                return i
        return None


def _text(value: Scalar) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_param(raw: object, path: str) -> EventParam:
    item = r.obj(raw, path)
    problems = r.Problems()
    name = problems.attempt(r.string, item, "name", path)
    compare_type = problems.attempt(
        r.enum, item, "compareType", path, tuple(TRIGGER_OPS), default="==="
    )
    value_type = problems.attempt(r.enum, item, "valueType", path, PARAM_VALUE_TYPES, "string")
    value = None
    if value_type is not None:
        value = problems.attempt(
            parse_scalar,
            item.get("value"),
            value_type,  # type: ignore[arg-type]
            r.join(path, "value"),
        )
    problems.raise_first()
    assert name is not None and compare_type is not None and value is not None
    return EventParam(
        name,
        compare_type,
        value_type,  # type: ignore[arg-type]
        value,
        TRIGGER_OPS[compare_type],
    )


def parse_scalar(raw: object, value_type: ValueType, path: str) -> Scalar:
    """A compare value (sent as a string by the admin backend; plain JSON scalars accepted)."""
    if raw is None:
        r.fail(path, "is required")
    if isinstance(raw, list | dict):
        r.fail(path, "must be a string")
    value = convert(raw, value_type)
    if value is None:
        r.fail(path, f"must be a {value_type} value")
    return value


def parse_event_filter(raw: object, path: str, *, default_type: str | None = None) -> EventFilter:
    """Parse ``{name, type, params}``; ``type`` falls back to ``default_type`` when given."""
    item = r.obj(raw, path)
    problems = r.Problems()  # name, type and every param are reported together
    name = problems.attempt(r.string, item, "name", path)
    type_ = problems.attempt(r.enum, item, "type", path, EVENT_TYPES, default=default_type)
    params_raw = item.get("params")
    params: tuple[EventParam, ...] = ()
    if params_raw is not None:
        params_path = r.join(path, "params")
        listed = problems.attempt(r.arr, params_raw, params_path)
        if listed is not None:
            params = tuple(problems.each(listed, params_path, parse_param))
    problems.raise_first()
    assert name is not None and type_ is not None
    return make_filter(name, type_, params)


def make_filter(name: str, type_: str, params: tuple[EventParam, ...] = ()) -> EventFilter:
    signature: Signature = (name, type_, tuple(sorted(p.key for p in params)))
    return EventFilter(name, type_, params, signature)


def parse_data_set_params(name: str, type_: str, params: object) -> EventFilter:
    """Filter for the ``@events`` / ``@triggeredEvent`` data sets (equality params)."""
    items = r.arr(params if params is not None else [], "params")
    parsed = tuple(parse_param(p, f"params[{i}]") for i, p in enumerate(items))
    return make_filter(name, type_, parsed)
