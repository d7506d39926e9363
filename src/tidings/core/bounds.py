"""Bounds every ingest path shares: how deep JSON may nest, and which times are believable.

Both are checked where a body is parsed, before anything is stored, so a value that a later
stage could not serialise (orjson stops near 254 levels) or format (years past 9999) never
enters the event log. Pure: the server's clock comes in as ``now_ms``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from tidings.core.timeparse import format_instant

MAX_JSON_DEPTH: Final = 32
"""Deepest nesting accepted in any JSON body: ``{"a": 1}`` is depth 1, ``{"a": {"b": [1]}}``
depth 3. Real payloads stay far below it; the log, the streams and the destinations wrap a
stored value in a few more levels and must still be able to serialise it."""

EARLIEST_TIME_MS: Final = 946_684_800_000
"""2000-01-01T00:00:00Z: no app event, session, decision or install happened before it."""

FUTURE_ALLOWANCE_MS: Final = 86_400_000
"""How far past the server clock a time may lie (a day): devices stamp events with a clock
synchronised to the server's, so anything later is a broken clock, not a time zone."""


def too_deep(value: Any, limit: int = MAX_JSON_DEPTH, path: str = "") -> str | None:
    """The path of the first container nested deeper than ``limit``, or ``None``.

    Walks with an explicit stack, so a value nested a thousand levels deep (what a JSON parser
    accepts) costs no recursion. Paths use the same form as validation errors
    (``batch[3].properties.a[0]``); the top-level value is ``path`` itself.
    """
    stack: list[tuple[Any, int, str]] = [(value, 1, path)]
    pop, push = stack.pop, stack.append
    while stack:
        node, depth, where = pop()
        if depth > limit:
            return where or "body"
        if type(node) is dict:
            for key, item in node.items():
                if type(item) is dict or type(item) is list:
                    push((item, depth + 1, f"{where}.{key}" if where else str(key)))
        elif type(node) is list:
            for i, item in enumerate(node):
                if type(item) is dict or type(item) is list:
                    push((item, depth + 1, f"{where}[{i}]"))
    return None


def depth_message(limit: int = MAX_JSON_DEPTH) -> str:
    """The reason given for a value that nests too deep."""
    return f"nested deeper than {limit} levels"


_CALENDAR_MS = (-62_135_596_800_000, 253_402_300_799_999)
"""Epoch milliseconds of 0001-01-01 and the last of 9999-12-31: what a date can name."""


def _shown(ms: int) -> str:
    """A window bound with its date when it has one (a window may be wider than the calendar)."""
    if _CALENDAR_MS[0] <= ms <= _CALENDAR_MS[1]:
        return f"{ms} ({format_instant(ms)})"
    return str(ms)


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """The times accepted at one moment: ``earliest`` to ``latest`` epoch ms, both included."""

    earliest: int
    latest: int

    def error(self, ms: int) -> str | None:
        """Why ``ms`` is refused, or ``None`` when it lies in the window."""
        if self.earliest <= ms <= self.latest:
            return None
        return (
            f"must be epoch milliseconds from {_shown(self.earliest)} to {_shown(self.latest)};"
            f" got {ms}"
        )


@dataclass(frozen=True, slots=True)
class TimeRange:
    """The times ingest believes: from ``earliest_ms`` to ``ahead_ms`` past the server clock.

    Event, session, decision and install times outside it are refused item by item; they come
    from a device clock that was wrong, and every consumer downstream (day buckets, ISO
    formatting, Amplitude's own checks) would otherwise have to cope with them.
    """

    earliest_ms: int = EARLIEST_TIME_MS
    ahead_ms: int = FUTURE_ALLOWANCE_MS

    def at(self, now_ms: int) -> TimeWindow:
        """The window in force when the server clock reads ``now_ms``."""
        return TimeWindow(self.earliest_ms, now_ms + self.ahead_ms)
