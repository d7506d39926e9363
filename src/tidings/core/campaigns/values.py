"""Typed comparison of property values, versions and instants.

Campaign JSON carries every compare value as a string; conversion happens once, when the campaign
is parsed, so evaluation only converts the device side. A value that cannot be read as the
requested type behaves like a missing one: only "not equal" holds (a Braze/Segment user reads
``plan != "annual"`` as true for a device with no plan at all).
"""

from __future__ import annotations

import math
import re
from typing import Final, Literal

Op = Literal["eq", "ne", "gt", "ge", "lt", "le", "set", "notset"]
ValueType = Literal["string", "number", "boolean", "datetime"]
Scalar = str | int | float | bool
Comparable = Scalar | tuple[int, ...]
"""Versions compare as tuples of ints."""

TRIGGER_OPS: Final[dict[str, Op]] = {
    "===": "eq",
    "!==": "ne",
    ">": "gt",
    ">=": "ge",
    "<": "lt",
    "<=": "le",
}
NUMBER_OPS: Final[dict[str, Op]] = {
    "equal": "eq",
    "notEqual": "ne",
    "greater": "gt",
    "less": "lt",
    "greaterOrEqual": "ge",
    "lessOrEqual": "le",
    "isSet": "set",
    "isNotSet": "notset",
}
DAY_MS: Final = 86_400_000
UNIT_MS: Final[dict[str, int]] = {
    "minutes": 60_000,
    "hours": 3_600_000,
    "days": DAY_MS,
    "sec": 1_000,
    "min": 60_000,
    "hour": 3_600_000,
    "day": DAY_MS,
}

_INT_RE: Final = re.compile(r"[+-]?\d+")


def to_number(value: object) -> int | float | None:
    """Read a value as a number: ints and finite floats as they are, numeric text parsed."""
    kind = type(value)
    if kind is int:
        return value  # type: ignore[return-value]
    if kind is float:
        return value if math.isfinite(value) else None  # type: ignore[arg-type,return-value]
    if kind is str:
        text = value.strip()  # type: ignore[attr-defined]
        if _INT_RE.fullmatch(text):
            return int(text)
        try:
            number = float(text)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def to_bool(value: object) -> bool | None:
    """Read a value as a boolean: ``True``/``False`` or the text ``true``/``false``."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text == "true":
            return True
        if text == "false":
            return False
    return None


def to_text(value: object) -> str | None:
    """Read a value as text, spelling booleans the JSON way so ``"true"`` matches ``True``."""
    kind = type(value)
    if kind is str:
        return value  # type: ignore[return-value]
    if kind is bool:
        return "true" if value else "false"
    if kind is int or kind is float:
        return str(value)
    return None


def convert(value: object, value_type: ValueType) -> Scalar | None:
    """Read ``value`` as ``value_type``; ``None`` when it cannot be read (treated as missing)."""
    if value_type == "string":
        return to_text(value)
    if value_type == "boolean":
        return to_bool(value)
    return to_number(value)


def compare(op: Op, left: Comparable | None, right: Comparable | None) -> bool:
    """Apply ``op`` to a device value ``left`` and a campaign value ``right``.

    ``left is None`` means missing (or unreadable): only ``ne`` and ``notset`` hold.
    """
    if op == "set":
        return left is not None
    if op == "notset":
        return left is None
    if left is None or right is None:
        return op == "ne"
    if op == "eq":
        return left == right
    if op == "ne":
        return left != right
    try:
        if op == "gt":
            return left > right  # type: ignore[operator]
        if op == "ge":
            return left >= right  # type: ignore[operator]
        if op == "lt":
            return left < right  # type: ignore[operator]
        return left <= right  # type: ignore[operator]
    except TypeError:
        return False


def compare_instants(op: Op, left: int | float | None, right: int | float) -> bool:
    """Compare two epoch-ms instants; equality is the same UTC calendar day.

    "Install date is 2026-01-05" means that whole day, not one millisecond of it.
    """
    if op in ("eq", "ne") and left is not None:
        same = int(left // DAY_MS) == int(right // DAY_MS)
        return same if op == "eq" else not same
    return compare(op, left, right)


def parse_version(text: str) -> tuple[int, ...] | None:
    """Dotted version to ints (``"1.10.0-beta"`` -> ``(1, 10)``); ``None`` if unreadable.

    Each part contributes its leading digits, so build suffixes do not make a version unreadable.
    """
    parts: list[int] = []
    for part in text.strip().split("."):
        digits = ""
        for ch in part:
            if not ch.isdigit():
                break
            digits += ch
        if not digits:
            if parts:
                break
            return None
        parts.append(int(digits))
        if len(digits) != len(part):
            break
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)
