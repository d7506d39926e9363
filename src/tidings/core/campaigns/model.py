"""The campaign model: Amply's campaign JSON plus Tidings' delivery extensions.

:func:`parse_campaign` validates once, up front, and turns every compare value into its typed form,
so evaluating an event never parses JSON or text. ``Campaign.raw`` keeps the document as given and
:meth:`Campaign.to_json` returns it, so a campaign round-trips unchanged.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from tidings.core.campaigns import reader as r
from tidings.core.campaigns.buckets import Treatment, parse_treatments
from tidings.core.campaigns.limits import NO_LIMIT, Limit, parse_limit
from tidings.core.campaigns.repeat import DEFAULT_REPEAT, Repeat, parse_repeat
from tidings.core.campaigns.schedule import QuietTime, Schedule, parse_quiet_time, parse_schedule
from tidings.core.campaigns.targeting import Slot, parse_targeting
from tidings.core.campaigns.trigger import EventFilter, parse_event_filter
from tidings.core.errors import InvalidCampaign
from tidings.core.events import NEVER_SHOWN_TRIGGERS, SESSION_STARTED

CAMPAIGN_TYPES: Final = ("DeepLink", "RateReview")
CAMPAIGN_STATES: Final = ("Draft", "Active", "Cancel")


@dataclass(frozen=True, slots=True, eq=False)
class Campaign:
    """One validated campaign. Identity is ``id``; ``raw`` is the original JSON object."""

    id: str
    name: str
    type: str
    state: str
    priority: int
    created_at: int
    trigger: EventFilter
    repeat: Repeat
    limit: Limit
    targeting: tuple[Slot, ...]
    content: Mapping[str, Any] | None
    schedule: Schedule | None
    quiet_time: QuietTime | None
    holdout_percent: float
    treatments: tuple[Treatment, ...]
    raw: Mapping[str, Any]

    @property
    def active(self) -> bool:
        return self.state == "Active"

    @property
    def rank_key(self) -> tuple[int, int, str]:
        """Sort key of the contract: priority high to low, then earliest created, then id."""
        return (-self.priority, self.created_at, self.id)

    def to_json(self) -> dict[str, Any]:
        """A deep copy of the campaign JSON as it was given."""
        return copy.deepcopy(dict(self.raw))


def parse_campaign(obj: object) -> Campaign:
    """Validate a campaign JSON object; every error is ``InvalidCampaign(path, reason)``."""
    root = r.obj(obj, "")
    cid = root.get("id")
    if not isinstance(cid, str) or not cid:
        r.fail("id", "is required (a non-empty string)")
    name = root.get("name")
    if name is not None and not isinstance(name, str):
        r.fail("name", "must be a string")
    ctype = r.enum(root, "type", "", CAMPAIGN_TYPES)
    state = r.enum(root, "state", "", CAMPAIGN_STATES, default="Draft")
    priority = r.integer(root, "priority", "", default=0)
    created_at = r.integer(root, "createdAt", "", minimum=0, default=0)

    triggering = r.obj(root.get("triggering"), "triggering")
    trigger = parse_event_filter(triggering.get("event"), "triggering.event")
    if trigger.name in NEVER_SHOWN_TRIGGERS:
        r.fail("triggering.event.name", f"a campaign triggered on {trigger.name} can never show")
    repeat_raw = triggering.get("repeat")
    repeat = DEFAULT_REPEAT if repeat_raw is None else parse_repeat(repeat_raw, "triggering.repeat")
    if trigger.name == SESSION_STARTED and _uses_session_entity(repeat):
        r.fail(
            "triggering.repeat.repeatEntity",
            "a SessionStarted trigger requires repeatEntity 'event'",
        )
    limit_raw = triggering.get("limit")
    limit = NO_LIMIT if limit_raw is None else parse_limit(limit_raw, "triggering.limit")

    targeting = parse_targeting(root.get("targeting"))
    treatments_raw = root.get("treatments")
    treatments = (
        () if treatments_raw is None else parse_treatments(treatments_raw, "treatments", ctype)
    )
    content = _content(root, ctype, treatments)

    schedule_raw = root.get("schedule")
    schedule = None if schedule_raw is None else parse_schedule(schedule_raw, "schedule")
    quiet_raw = root.get("quietTime")
    quiet_time = None if quiet_raw is None else parse_quiet_time(quiet_raw, "quietTime")
    holdout = r.number(root, "holdoutPercent", "", default=0.0)
    if not 0 <= holdout <= 100:
        r.fail("holdoutPercent", "must be between 0 and 100")

    return Campaign(
        id=cid,
        name=name if name is not None else cid,
        type=ctype,
        state=state,
        priority=priority,
        created_at=created_at,
        trigger=trigger,
        repeat=repeat,
        limit=limit,
        targeting=targeting,
        content=content,
        schedule=schedule,
        quiet_time=quiet_time,
        holdout_percent=holdout,
        treatments=treatments,
        raw=root,
    )


def parse_campaigns(obj: object) -> list[Campaign]:
    """One campaign object or a list of them; paths of list items start with ``[i]``."""
    if isinstance(obj, list):
        out: list[Campaign] = []
        for i, item in enumerate(obj):
            try:
                out.append(parse_campaign(item))
            except InvalidCampaign as exc:
                raise InvalidCampaign(_prefix(i, exc.field), exc.reason) from None
        return out
    return [parse_campaign(obj)]


def _prefix(index: int, field: str) -> str:
    if not field:
        return f"[{index}]"
    return f"[{index}]{field}" if field.startswith("[") else f"[{index}].{field}"


def _uses_session_entity(repeat: Repeat | None) -> bool:
    while repeat is not None:
        if repeat.entity == "session":
            return True
        repeat = repeat.sub
    return False


def _content(
    root: r.JsonObj, ctype: str, treatments: tuple[Treatment, ...]
) -> Mapping[str, Any] | None:
    raw = root.get("content")
    if ctype == "RateReview":
        if raw is not None and raw != {}:
            r.fail("content", "must be null or absent for a RateReview campaign")
        return None
    if raw is None:
        if treatments and all(t.content is not None for t in treatments):
            return None
        r.fail("content.url", "is required for a DeepLink campaign")
    content = r.obj(raw, "content")
    url = content.get("url")
    if not isinstance(url, str) or not url:
        r.fail("content.url", "is required for a DeepLink campaign (a non-empty string)")
    return content
