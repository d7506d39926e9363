"""Instants and durations as people write them in scenarios and settings, to epoch ms."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

_EPOCH = datetime(1970, 1, 1)
_OFFSET = re.compile(r"^\+(\d+(?:\.\d+)?)(ms|s|m|h|d)$")
_UNIT_MS = {"ms": 1, "s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def parse_instant(text: str) -> int | None:
    """Epoch ms of an ISO-8601 instant with an offset (``Z`` or ``+01:00``); None if not one."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    offset = value.utcoffset()
    if offset is None:
        return None
    return round((value.replace(tzinfo=None) - offset - _EPOCH).total_seconds() * 1000)


def parse_offset(text: str) -> int | None:
    """Milliseconds of a relative offset such as ``+5s`` or ``+250ms``; None if not one."""
    match = _OFFSET.match(text)
    if match is None:
        return None
    return round(float(match.group(1)) * _UNIT_MS[match.group(2)])


def format_instant(ms: int) -> str:
    """ISO-8601 UTC with milliseconds, the inverse of :func:`parse_instant`."""
    seconds, millis = divmod(ms, 1000)
    moment = _EPOCH + timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{millis:03d}Z"
