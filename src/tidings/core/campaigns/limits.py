"""Frequency limits of one campaign and project-wide frequency capping.

The limit JSON is Amply's: ``limit`` + ``limitType`` come together, ``interval`` +
``intervalDimension`` come together, and ``count`` is a separate lifetime cap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from tidings.core.campaigns import reader as r
from tidings.core.campaigns.values import UNIT_MS
from tidings.core.errors import InvalidCampaign, InvalidConfig

LIMIT_TYPES: Final = ("session", "device")
INTERVAL_DIMENSIONS: Final = ("sec", "min", "hour", "day")


@dataclass(frozen=True, slots=True)
class Limit:
    """How often one campaign may be shown.

    - ``limit`` per ``limit_type`` (``session`` or ``device``); with ``interval_ms`` the device
      limit applies per rolling window of that length (a session limit then counts only the
      session's shows inside the window);
    - an interval without ``limit`` is a cool-down: at most one show per window;
    - ``count``: at most this many shows ever on the device.
    """

    limit: int | None = None
    limit_type: str | None = None
    interval_ms: int | None = None
    count: int | None = None

    @property
    def is_empty(self) -> bool:
        return self.limit is None and self.interval_ms is None and self.count is None


NO_LIMIT: Final = Limit()


def parse_limit(raw: object, path: str) -> Limit:
    """Every problem of the limit is reported together (each field is checked on its own)."""
    item = r.obj(raw, path)
    problems = r.Problems()
    limit = problems.attempt(r.opt_integer, item, "limit", path, minimum=0)
    limit_type = item.get("limitType")
    if limit_type is not None and limit_type not in LIMIT_TYPES:
        problems.attempt(
            r.fail, r.join(path, "limitType"), f"must be one of {', '.join(LIMIT_TYPES)}"
        )
    elif (item.get("limit") is None) != (limit_type is None):
        missing = "limitType" if limit_type is None else "limit"
        other = "limit" if missing == "limitType" else "limitType"
        problems.attempt(r.fail, r.join(path, missing), f"is required when {other} is set")
    interval = problems.attempt(r.opt_integer, item, "interval", path, minimum=1)
    dimension = item.get("intervalDimension")
    if dimension is not None and dimension not in INTERVAL_DIMENSIONS:
        problems.attempt(
            r.fail,
            r.join(path, "intervalDimension"),
            f"must be one of {', '.join(INTERVAL_DIMENSIONS)}",
        )
    elif (item.get("interval") is None) != (dimension is None):
        missing = "intervalDimension" if dimension is None else "interval"
        other = "interval" if missing == "intervalDimension" else "intervalDimension"
        problems.attempt(r.fail, r.join(path, missing), f"is required when {other} is set")
    count = problems.attempt(r.opt_integer, item, "count", path, minimum=0)
    problems.raise_first()
    interval_ms = None if interval is None else interval * UNIT_MS[str(dimension)]
    return Limit(limit, None if limit_type is None else str(limit_type), interval_ms, count)


@dataclass(frozen=True, slots=True)
class ProjectSettings:
    """Project frequency capping across all campaigns (``None``: no cap)."""

    per_session: int | None = None
    per_day: int | None = None


def parse_project_settings(obj: object) -> ProjectSettings:
    """Parse ``{"frequencyCapping": {"perSession": n, "perDay": n}}`` (every part optional)."""
    try:
        if obj is None:
            return ProjectSettings()
        root = r.obj(obj, "")
        capping = r.opt_obj(root, "frequencyCapping", "")
        if capping is None:
            return ProjectSettings()
        path = "frequencyCapping"
        return ProjectSettings(
            per_session=r.opt_integer(capping, "perSession", path, minimum=0),
            per_day=r.opt_integer(capping, "perDay", path, minimum=0),
        )
    except InvalidCampaign as exc:
        raise InvalidConfig(exc.field, exc.reason) from None
