"""The decision engine: one recorded event in, the campaign decisions for it out.

Campaigns are indexed by trigger ``(name, type)`` when the engine is built, so an event that no
trigger names costs two dictionary lookups whatever the number of campaigns. Candidates for one key
are kept in rank order (priority high to low, then earliest ``createdAt``, then id), so decisions
come out in rank order and the first eligible candidate is the one that wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from tidings.core.campaigns.buckets import in_holdout, pick_treatment
from tidings.core.campaigns.context import EvaluationContext
from tidings.core.campaigns.limits import Limit, ProjectSettings
from tidings.core.campaigns.model import Campaign
from tidings.core.campaigns.schedule import local_day, local_minute, zone
from tidings.core.campaigns.server import IN_APP_CHANNEL
from tidings.core.campaigns.state import EngineState
from tidings.core.campaigns.targeting import history_filters
from tidings.core.campaigns.trigger import EventFilter, Signature
from tidings.core.events import NON_TRIGGERING_EVENTS, EventRecord

Status = Literal[
    "SUCCESS",
    "EXPIRED",
    "HOLDOUT",
    "QUIET_TIME",
    "SESSION_CAP",
    "CAMPAIGN_CAP",
    "DAILY_CAP",
    "LOWER_PRIORITY",
]
SUCCESS: Final = "SUCCESS"
EXPIRED: Final = "EXPIRED"
HOLDOUT: Final = "HOLDOUT"
QUIET_TIME: Final = "QUIET_TIME"
SESSION_CAP: Final = "SESSION_CAP"
CAMPAIGN_CAP: Final = "CAMPAIGN_CAP"
DAILY_CAP: Final = "DAILY_CAP"
LOWER_PRIORITY: Final = "LOWER_PRIORITY"
NO_TREATMENT: Final = "0"


@dataclass(frozen=True, slots=True)
class Decision:
    """The engine's verdict on one campaign for one triggering event."""

    campaign_id: str
    status: Status
    treatment_id: str
    source: str
    event_id: str
    campaign: Campaign
    content: Mapping[str, Any] | None

    def to_json(self) -> dict[str, Any]:
        return {
            "campaignId": self.campaign_id,
            "status": self.status,
            "treatmentId": self.treatment_id,
            "source": self.source,
            "eventId": self.event_id,
        }


class CampaignEngine:
    """Evaluates the active campaigns of one configuration against a device's events.

    The engine is immutable after construction and holds no per-device data: the same engine
    serves any number of devices, each with its own :class:`EngineState`.
    ``watch`` adds event filters whose history the state should keep for data sets
    (``@events`` / ``@triggeredEvent`` with params). ``channel`` says whose campaigns take part:
    ``in_app`` (a device's, the default) or ``server`` (the server's evaluating consumer), so a
    device never acts on a server campaign and the server never on an in-app one.
    """

    __slots__ = ("_by_trigger", "_campaigns", "_filters", "project")

    def __init__(
        self,
        campaigns: Iterable[Campaign],
        project: ProjectSettings | None = None,
        *,
        watch: Iterable[EventFilter] = (),
        channel: str = IN_APP_CHANNEL,
    ) -> None:
        self.project = project if project is not None else ProjectSettings()
        active = sorted(
            (c for c in campaigns if c.active and c.channel == channel), key=lambda c: c.rank_key
        )
        self._campaigns: tuple[Campaign, ...] = tuple(active)
        by_trigger: dict[tuple[str, str], list[Campaign]] = {}
        filters: dict[tuple[str, str], dict[Signature, EventFilter]] = {}
        watched: list[EventFilter] = list(watch)
        for campaign in active:
            key = (campaign.trigger.name, campaign.trigger.type)
            by_trigger.setdefault(key, []).append(campaign)
            watched.append(campaign.trigger)
            watched.extend(history_filters(campaign.targeting))
        for flt in watched:
            if flt.params:  # the plain (name, type) signature is recorded for every event anyway
                filters.setdefault((flt.name, flt.type), {})[flt.signature] = flt
        self._by_trigger = {key: tuple(group) for key, group in by_trigger.items()}
        self._filters = {key: tuple(group.values()) for key, group in filters.items()}

    @property
    def campaigns(self) -> tuple[Campaign, ...]:
        """The active campaigns, in rank order."""
        return self._campaigns

    def process(
        self, event: EventRecord, ctx: EvaluationContext, state: EngineState
    ) -> list[Decision]:
        """Record ``event`` in ``state`` and return the decisions it causes, in rank order.

        Call it for every recorded event, in order; the event's ``timestamp`` is "now".
        """
        name = event.name
        etype = event.type
        now = event.timestamp
        session = event.session_id if event.session_id is not None else ctx.session_id
        state.session_id = session
        state.record((name, etype, ()), now, session)
        key = (name, etype)
        filters = self._filters.get(key)
        matched: set[Signature] | None = None
        if filters is not None:
            props = event.properties
            matched = set()
            for flt in filters:
                if flt.params_hold(props):
                    state.record(flt.signature, now, session)
                    matched.add(flt.signature)
        if event_miss(name, ctx) is not None:
            return []
        candidates = self._by_trigger.get(key)
        if candidates is None:
            return []
        return self._decide(candidates, matched, event, ctx=ctx, state=state, session=session)

    def _decide(
        self,
        candidates: Sequence[Campaign],
        matched: set[Signature] | None,
        event: EventRecord,
        *,
        ctx: EvaluationContext,
        state: EngineState,
        session: str | None,
    ) -> list[Decision]:
        now = event.timestamp
        decisions: list[Decision] = []
        winner: Campaign | None = None
        user_key = ctx.user_key
        day: int | None = None
        for campaign in candidates:
            trigger = campaign.trigger
            held = not trigger.params or (matched is not None and trigger.signature in matched)
            if gate(campaign, held, ctx, state, now=now, session=session) is not None:
                continue
            schedule = campaign.schedule
            status: Status | None = None
            if schedule is not None and schedule.end_ms is not None and now >= schedule.end_ms:
                status = EXPIRED
            if (
                status is None
                and campaign.holdout_percent > 0
                and in_holdout(campaign.id, user_key, campaign.holdout_percent)
            ):
                status = HOLDOUT
            if status is None and campaign.quiet_time is not None:
                tz = zone(ctx.profile.timezone)
                if tz is not None and campaign.quiet_time.contains(local_minute(now, tz)):
                    status = QUIET_TIME
            if status is None and not campaign.limit.is_empty:
                status = limit_status(campaign.limit, state.shows.get(campaign.id), now, session)
            if status is None:
                if day is None:
                    day = local_day(now, zone(ctx.profile.timezone))
                status = self._project_status(state, session, day)
            if status is None:
                if winner is None:
                    winner = campaign
                    status = SUCCESS
                else:
                    status = LOWER_PRIORITY
            decisions.append(_decision(campaign, status, user_key, event))
        if winner is not None:
            assert day is not None  # computed for every campaign that reached the project caps
            state.record_show(winner.id, now, session, winner.limit.interval_ms)
            state.record_project_show(session, day)
        return decisions

    def _project_status(self, state: EngineState, session: str | None, day: int) -> Status | None:
        """Project frequency capping: shows of every campaign this session and this local day."""
        project = state.project
        per_session = self.project.per_session
        if per_session is not None:
            used = project[1] if project[0] == session else 0
            if used >= per_session:
                return SESSION_CAP
        per_day = self.project.per_day
        if per_day is not None:
            used = project[3] if project[2] == day else 0
            if used >= per_day:
                return DAILY_CAP
        return None


@dataclass(frozen=True, slots=True)
class Miss:
    """Why a campaign made no decision for an event: the first rule that failed.

    ``rule`` is one of :data:`MISS_RULES`; ``index`` (0-based) names the trigger param or the Who
    rule that failed, when the rule has several parts.
    """

    rule: str
    index: int | None = None


BACKGROUND: Final = Miss("background")
NOT_TRIGGERING: Final = Miss("not_triggering")
TRIGGER: Final = Miss("trigger")
TRIGGER_PARAM: Final = Miss("trigger_param")
REPEAT: Final = Miss("repeat")
NOT_STARTED: Final = Miss("not_started")
MISS_RULES: Final = (
    "background",
    "not_triggering",
    "trigger",
    "trigger_param",
    "repeat",
    "who",
    "not_started",
)


def event_miss(name: str, ctx: EvaluationContext) -> Miss | None:
    """Whether the event can trigger any campaign at all: only in the foreground, and never a
    system event that the engine itself causes (``NON_TRIGGERING_EVENTS``)."""
    if not ctx.foreground:
        return BACKGROUND
    if name in NON_TRIGGERING_EVENTS:
        return NOT_TRIGGERING
    return None


def gate(
    campaign: Campaign,
    trigger_held: bool,
    ctx: EvaluationContext,
    state: EngineState,
    *,
    now: int,
    session: str | None,
) -> Miss | None:
    """The rules that decide whether a triggered campaign makes a decision at all, in the
    engine's order: trigger params, repeat rule, Who (every rule in order), schedule start.

    The engine and :func:`tidings.core.campaigns.explain.explain` both call this, so the reason a
    dry run gives is the rule the engine applied. ``trigger_held`` says whether the event's
    properties satisfy the trigger's params (the engine knows it from its filter pass).
    """
    if not trigger_held:
        return TRIGGER_PARAM
    repeat = campaign.repeat
    if not repeat.is_default:
        rec = state.history[campaign.trigger.signature]
        in_session = int(rec[4]) if rec[3] == session else 0
        if not repeat.holds(int(rec[0]), in_session, ctx.session_counter):
            return REPEAT
    for i, slot in enumerate(campaign.targeting):
        if not slot.holds(ctx, state, now):
            return Miss("who", i)
    schedule = campaign.schedule
    if schedule is not None and schedule.start_ms is not None and now < schedule.start_ms:
        return NOT_STARTED
    return None


def limit_status(
    limit: Limit, shows: list[Any] | None, now_ms: int, session: str | None
) -> Status | None:
    """``SESSION_CAP`` / ``CAMPAIGN_CAP`` when one more show would break the campaign's limits."""
    lifetime = 0
    in_session = 0
    recent: list[list[Any]] = []
    if shows is not None:
        lifetime = int(shows[0])
        in_session = int(shows[2]) if shows[1] == session else 0
        recent = shows[3]
    window = limit.interval_ms
    in_window = 0
    in_window_session = 0
    if window is not None:
        cutoff = now_ms - window
        for at, sid in recent:
            if at > cutoff:
                in_window += 1
                if sid == session:
                    in_window_session += 1
    if limit.limit is not None:
        if limit.limit_type == "session":
            used = in_session if window is None else in_window_session
            if used >= limit.limit:
                return SESSION_CAP
        else:
            used = lifetime if window is None else in_window
            if used >= limit.limit:
                return CAMPAIGN_CAP
    elif window is not None and in_window >= 1:
        return CAMPAIGN_CAP
    if limit.count is not None and lifetime >= limit.count:
        return CAMPAIGN_CAP
    return None


def _decision(campaign: Campaign, status: Status, user_key: str, event: EventRecord) -> Decision:
    """Every decision names the user's treatment (deterministic), whatever its status."""
    treatment_id = NO_TREATMENT
    content = campaign.content
    if campaign.treatments:
        treatment = pick_treatment(campaign.id, user_key, campaign.treatments)
        if treatment is not None:
            treatment_id = treatment.id
            if treatment.content is not None:
                content = treatment.content
    return Decision(campaign.id, status, treatment_id, event.name, event.id, campaign, content)
