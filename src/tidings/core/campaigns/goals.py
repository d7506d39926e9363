"""Conversion goals: what a campaign counts as success, and which exposures an event converts.

A campaign may declare up to :data:`MAX_CONVERSIONS` goals, ``conversions: [{event: {name, type,
params}, windowHours}]``. The event filter is the trigger's (same parser, same errors, paths under
``conversions[i].event``). An **exposure** is a SUCCESS decision (the treatment group, keyed by
its treatment) or a HOLDOUT decision (the control group); an event of the same identity that
matches a goal at or after the exposure and before the window closes converts it.

Attribution is keyed on an **identity**, not a device: a device decision's identity is its device
id, a decision made for a user alone (server-side) is its user id, so device and server-side
campaigns share one code path. Sans-IO: the pipeline feeds stored decisions and events in, and
stores what :func:`conversions_of` returns.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from tidings.core.campaigns import reader as r
from tidings.core.campaigns.trigger import EventFilter, parse_event_filter

MAX_CONVERSIONS: Final = 3
"""How many conversion goals a campaign may declare."""
DEFAULT_WINDOW_HOURS: Final = 72
"""The window when ``windowHours`` is left out (three days, a common conversion deadline)."""
MAX_WINDOW_HOURS: Final = 24 * 90
"""The longest window: attribution keeps exposures that long, so it is bounded."""
CLOCK_TOLERANCE_MS: Final = 5_000
"""How far before its decision an event may be stamped and still convert it, when it was stored
after the decision: device clocks are corrected against the server's between uploads, so an
event that followed a decision can carry a time a few milliseconds before it."""
EXPOSED_STATUSES: Final = ("SUCCESS", "HOLDOUT")
"""Decision statuses that expose an identity: SUCCESS (treatment) and HOLDOUT (control)."""

_MS_PER_HOUR = 3_600_000


@dataclass(frozen=True, slots=True)
class Goal:
    """One conversion goal: its position in ``conversions``, its event filter, its window."""

    index: int
    event: EventFilter
    window_hours: float

    @property
    def window_ms(self) -> int:
        return int(self.window_hours * _MS_PER_HOUR)


def parse_goal(raw: object, path: str, index: int = 0) -> Goal:
    """``{event: {name, type, params}, windowHours}`` at ``path`` (``conversions[index]``)."""
    item = r.obj(raw, path)
    problems = r.Problems()
    event = problems.attempt(parse_event_filter, item.get("event"), r.join(path, "event"))
    hours = problems.attempt(r.number, item, "windowHours", path, default=DEFAULT_WINDOW_HOURS)
    if hours is not None and not 0 < hours <= MAX_WINDOW_HOURS:
        problems.attempt(
            r.fail,
            r.join(path, "windowHours"),
            f"must be more than 0 and at most {MAX_WINDOW_HOURS} hours (90 days)",
        )
    problems.raise_first()
    assert event is not None and hours is not None
    return Goal(index, event, hours)


def parse_conversions(raw: object, path: str = "conversions") -> tuple[Goal, ...]:
    """The goals of a campaign (``null`` or absent: none); every item is checked on its own."""
    if raw is None:
        return ()
    items = r.arr(raw, path)
    if len(items) > MAX_CONVERSIONS:
        r.fail(path, f"must have at most {MAX_CONVERSIONS} conversion events")
    problems = r.Problems()
    goals = [problems.attempt(parse_goal, item, f"{path}[{i}]", i) for i, item in enumerate(items)]
    problems.raise_first()
    return tuple(g for g in goals if g is not None)


def attribution_key(device_id: str | None, user_id: str | None) -> str | None:
    """The key attribution joins on: ``d:<device id>``, else ``u:<user id>``, else ``None``."""
    if device_id:
        return f"d:{device_id}"
    if user_id:
        return f"u:{user_id}"
    return None


@dataclass(frozen=True, slots=True)
class Exposure:
    """A decision that put an identity in a group of a campaign.

    ``treatment_id`` is the treatment shown (``"0"`` for a campaign without treatments), or
    ``None`` for the control group (a HOLDOUT decision). ``seq`` is the decision's place in the
    event log and ``trigger_event_id`` the event that triggered it (which never converts it).
    """

    app_id: str
    campaign_id: str
    decision_id: str
    identity: str
    treatment_id: str | None
    timestamp: int
    seq: int = 0
    trigger_event_id: str | None = None

    @property
    def control(self) -> bool:
        return self.treatment_id is None


def exposure_of(
    app_id: str,
    decision: Mapping[str, Any],
    device_id: str | None,
    user_id: str | None,
    seq: int = 0,
) -> Exposure | None:
    """The exposure a stored decision makes, or ``None`` (another status, or no identity)."""
    status = decision.get("status")
    if status not in EXPOSED_STATUSES:
        return None
    identity = attribution_key(device_id, user_id)
    decision_id = decision.get("id")
    campaign_id = decision.get("campaignId")
    timestamp = decision.get("timestamp")
    if (
        identity is None
        or not isinstance(decision_id, str)
        or not isinstance(campaign_id, str)
        or type(timestamp) is not int
    ):
        return None
    treatment: str | None = None
    if status == "SUCCESS":
        raw = decision.get("treatmentId")
        treatment = "0" if raw is None or raw == "" else str(raw)
    trigger = decision.get("eventId")
    return Exposure(
        app_id,
        campaign_id,
        decision_id,
        identity,
        treatment,
        timestamp,
        seq,
        trigger if isinstance(trigger, str) else None,
    )


@dataclass(frozen=True, slots=True)
class Conversion:
    """An event that converted an exposure for one goal. ``first`` is decided by the store (the
    first conversion of a decision and goal counts; later ones are repeats)."""

    exposure: Exposure
    goal: int
    event_id: str
    event_name: str
    timestamp: int


def conversions_of(
    event_id: str,
    name: str,
    type_: str,
    properties: Mapping[str, Any],
    timestamp: int,
    *,
    exposures: Iterable[Exposure],
    goals: Mapping[str, Sequence[Goal]],
    seq: int = 0,
) -> list[Conversion]:
    """The conversions one event (stored at ``seq``) makes among an identity's ``exposures``
    (``goals`` by campaign id): every goal it matches, for every exposure whose window holds
    ``timestamp``. The window opens at the decision, or up to :data:`CLOCK_TOLERANCE_MS` before
    it for an event stored after the decision; the decision's own trigger never converts it."""
    out: list[Conversion] = []
    for exposure in exposures:
        if event_id == exposure.trigger_event_id:
            continue
        start = exposure.timestamp
        if timestamp < start and not (
            seq > exposure.seq and timestamp >= start - CLOCK_TOLERANCE_MS
        ):
            continue
        for goal in goals.get(exposure.campaign_id, ()):
            if timestamp < start + goal.window_ms and goal.event.matches(name, type_, properties):
                out.append(Conversion(exposure, goal.index, event_id, name, timestamp))
    return out


def longest_window_ms(goals: Mapping[str, Sequence[Goal]]) -> int:
    """How far back an event can reach to convert an exposure (0 with no goals)."""
    return max((g.window_ms for gs in goals.values() for g in gs), default=0)
