"""Custom properties: a flat map kept on the device, and the changes it reports.

Each effective change becomes one ``CustomPropertyChanged``; setting a value equal to the current
one (same type and value: ``1``, ``1.0`` and ``True`` differ) changes nothing and reports nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tidings.core.errors import InvalidEvent
from tidings.core.events import ABSENT, Primitive, validate_key, validate_value


@dataclass(frozen=True, slots=True)
class PropertyChange:
    """One effective change; ``old``/``new`` are :data:`MISSING` when absent."""

    key: str
    old: Any
    new: Any


MISSING: Any = ABSENT
"""Marks an absent side of a :class:`PropertyChange` (first set, or removal)."""


def _same(a: object, b: object) -> bool:
    return type(a) is type(b) and a == b


class CustomProperties:
    """The device's custom properties and the rules for changing them."""

    __slots__ = ("_values",)

    def __init__(self, values: dict[str, Primitive] | None = None) -> None:
        # The dict is shared, not copied: the owner persists it as part of its own state.
        self._values: dict[str, Primitive] = values if values is not None else {}

    @property
    def values(self) -> Mapping[str, Primitive]:
        """A read-only view of the current map."""
        return self._values

    def get(self, key: str) -> Primitive | None:
        return self._values.get(key)

    def set(self, key: object, value: object) -> list[PropertyChange]:
        """Set one property; validates like an event property (``key`` / ``value`` fields)."""
        k = validate_key(key, "key")
        v = validate_value(value, "value")
        return self._apply(k, v)

    def set_many(self, mapping: object) -> list[PropertyChange]:
        """Set several; all are validated before any is applied, changes in the map's order."""
        if not isinstance(mapping, Mapping):
            raise InvalidEvent("properties", "must be a map of property names to values")
        checked: list[tuple[str, Primitive]] = []
        for key, value in mapping.items():
            path = f"properties[{key!r}]"
            checked.append((validate_key(key, path), validate_value(value, path)))
        changes: list[PropertyChange] = []
        for k, v in checked:
            changes.extend(self._apply(k, v))
        return changes

    def remove(self, key: object) -> list[PropertyChange]:
        k = validate_key(key, "key")
        if k not in self._values:
            return []
        old = self._values.pop(k)
        return [PropertyChange(k, old, MISSING)]

    def clear(self) -> list[PropertyChange]:
        """Remove everything: one change per key that existed, in key order."""
        changes = [PropertyChange(k, self._values[k], MISSING) for k in sorted(self._values)]
        self._values.clear()
        return changes

    def _apply(self, key: str, value: Primitive) -> list[PropertyChange]:
        old = self._values.get(key, MISSING)
        if old is not MISSING and _same(old, value):
            return []
        self._values[key] = value
        return [PropertyChange(key, old, value)]
