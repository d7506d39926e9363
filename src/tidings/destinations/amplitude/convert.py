"""Small pure conversions shared by the builders: dates to epoch ms, platform casing, merges."""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

_IOS = re.compile("ios", re.IGNORECASE)
_ANDROID = re.compile("android", re.IGNORECASE)


def to_epoch_ms(value: Any) -> int | None:
    """Epoch ms of a datetime value, or ``None`` when it is not a valid date.

    Numbers are already ms, a fraction truncated towards zero as a JavaScript ``Date`` does
    (``1629213675449.7`` is ``1629213675449``); an all-digit string is epoch ms too (not a compact
    ISO date, which Segment's parser wrongly assumes); other strings are ISO 8601, a date alone
    meaning UTC midnight and a date-time without an offset meaning UTC.
    """
    if value.__class__ is str and len(value) == 24:  # the usual shape, its second seen before
        second = _SECOND_MS.get(value[:19])
        if (
            second is not None
            and value[19] == "."
            and value[23] in "Zz"
            and _DIGITS.issuperset(value[20:23])
        ):
            return second + int(value[20:23])
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return math.trunc(value) if math.isfinite(value) else None
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    if text.isdigit() or (text[0] == "-" and text[1:].isdigit()):
        return int(text)
    fast = _utc_millis(text)
    if fast is not None:
        return fast
    try:
        if len(text) == 10 and text[4] == "-" and text[7] == "-":
            day = date.fromisoformat(text)
            moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
        else:
            moment = datetime.fromisoformat(text.replace("z", "Z"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
    except (ValueError, IndexError):
        return None
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


_DIGITS = frozenset("0123456789")


@lru_cache(maxsize=1024)
def _day_ms(day: str) -> int | None:
    """Epoch ms of a ``YYYY-MM-DD`` UTC midnight (``None`` for an invalid date)."""
    try:
        moment = date.fromisoformat(day)
    except ValueError:
        return None
    return (moment - date(1970, 1, 1)).days * 86_400_000


def _utc_millis(text: str) -> int | None:
    """``2021-08-17T15:21:15.449Z`` (what every SDK message carries) without a datetime; any
    other shape, or an out-of-range field, is ``None`` and takes the general parser."""
    if (
        len(text) != 24
        or text[10] != "T"
        or text[13] != ":"
        or text[16] != ":"
        or text[19] != "."
        or text[23] not in "Zz"
    ):
        return None
    clock = text[11:13] + text[14:16] + text[17:19] + text[20:23]
    if not _DIGITS.issuperset(clock):
        return None
    hours, minutes, seconds = int(clock[0:2]), int(clock[2:4]), int(clock[4:6])
    if hours > 23 or minutes > 59 or seconds > 59:
        return None
    day = _day_ms(text[:10])
    if day is None:
        return None
    second = day + ((hours * 60 + minutes) * 60 + seconds) * 1000
    if len(_SECOND_MS) >= 4096:
        _SECOND_MS.clear()
    _SECOND_MS[text[:19]] = second
    return second + int(clock[6:9])


_SECOND_MS: dict[str, int] = {}
"""``YYYY-MM-DDTHH:MM:SS`` (already checked by :func:`_utc_millis`) to its epoch ms: the events
of a batch fall within a few seconds, so most parses are a lookup and the milliseconds."""


def session_ms(value: Any) -> int | float | None:
    """Amplitude ``session_id``: digit strings become ints, numbers stay, dates become ms."""
    if not value:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value if math.isfinite(value) else None
    return to_epoch_ms(value)


@lru_cache(maxsize=256)
def platform_casing(platform: str) -> str:
    """``ios`` becomes ``iOS`` and ``android`` ``Android`` (first occurrence, any case)."""
    return _ANDROID.sub("Android", _IOS.sub("iOS", platform, count=1), count=1)


def js_round(value: float) -> int:
    """JavaScript ``Math.round``: halves round up (towards +infinity)."""
    return math.floor(value + 0.5)


def merge_user_properties(*parts: dict[str, Any]) -> dict[str, Any]:
    """Shallow merge in order, except ``$set`` and ``$setOnce`` which merge key by key."""
    out: dict[str, Any] = {}
    for part in parts:
        for key, value in part.items():
            if key in ("$set", "$setOnce") and isinstance(value, dict):
                previous = out.get(key)
                out[key] = {**previous, **value} if isinstance(previous, dict) else dict(value)
            else:
                out[key] = value
    return out


def utm_user_properties(utm: dict[str, Any] | None, referrer: Any) -> list[dict[str, Any]]:
    """The ``$set``/``$setOnce`` parts for UTM values and a referrer (empty list when neither)."""
    parts: list[dict[str, Any]] = []
    if utm:
        parts.append({"$set": dict(utm), "$setOnce": {f"initial_{k}": v for k, v in utm.items()}})
    if referrer:
        parts.append({"$set": {"referrer": referrer}, "$setOnce": {"initial_referrer": referrer}})
    return parts
