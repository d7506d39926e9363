"""Schedule windows and quiet time, both read in the device's own calendar.

Time zones come from :mod:`zoneinfo` (backed by the pinned ``tzdata`` package); a device whose
zone is unknown or not a valid IANA name has no local time: quiet time is skipped and daily caps
use the UTC day.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Final
from zoneinfo import ZoneInfo

from tidings.core.campaigns import reader as r

_HHMM: Final = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")


@dataclass(frozen=True, slots=True)
class Schedule:
    """``start_ms`` inclusive, ``end_ms`` exclusive; either may be open."""

    start_ms: int | None
    end_ms: int | None


@dataclass(frozen=True, slots=True)
class QuietTime:
    """Minutes after local midnight; ``start > end`` means the window crosses midnight."""

    start_minute: int
    end_minute: int

    def contains(self, minute_of_day: int) -> bool:
        if self.start_minute < self.end_minute:
            return self.start_minute <= minute_of_day < self.end_minute
        return minute_of_day >= self.start_minute or minute_of_day < self.end_minute


def parse_schedule(raw: object, path: str) -> Schedule:
    item = r.obj(raw, path)
    start = r.opt_integer(item, "startTime", path, minimum=0)
    end = r.opt_integer(item, "endTime", path, minimum=0)
    if start is not None and end is not None and end <= start:
        r.fail(r.join(path, "endTime"), "must be after startTime")
    return Schedule(start, end)


def _minute(item: r.JsonObj, key: str, path: str) -> int:
    text = r.string(item, key, path)
    match = _HHMM.fullmatch(text)
    if match is None:
        r.fail(r.join(path, key), "must be a time of day HH:MM (00:00 to 23:59)")
    return int(match.group(1)) * 60 + int(match.group(2))


def parse_quiet_time(raw: object, path: str) -> QuietTime:
    item = r.obj(raw, path)
    start = _minute(item, "start", path)
    end = _minute(item, "end", path)
    if start == end:
        r.fail(r.join(path, "end"), "must differ from start")
    return QuietTime(start, end)


@lru_cache(maxsize=256)
def zone(name: str | None) -> ZoneInfo | None:
    """The zone for an IANA name, or ``None`` when unknown or invalid."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ValueError, LookupError, OSError):
        return None


def local_datetime(now_ms: int, tz: ZoneInfo | None) -> datetime:
    """The wall-clock time at ``now_ms`` in ``tz`` (UTC when ``tz`` is ``None``)."""
    return datetime.fromtimestamp(now_ms / 1000, tz if tz is not None else UTC)


def local_minute(now_ms: int, tz: ZoneInfo) -> int:
    local = local_datetime(now_ms, tz)
    return local.hour * 60 + local.minute


def local_day(now_ms: int, tz: ZoneInfo | None) -> int:
    """Ordinal of the calendar day at ``now_ms`` in ``tz`` (UTC when unknown)."""
    return local_datetime(now_ms, tz).toordinal()
