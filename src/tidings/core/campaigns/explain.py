"""Why a campaign made no decision for an event, in words a product manager reads.

:func:`explain` asks the engine's own rules (:func:`~tidings.core.campaigns.engine.event_miss`
and :func:`~tidings.core.campaigns.engine.gate`) in the engine's order, so the reason is the
rule the engine applied, never a second copy of it. Call it right after
:meth:`CampaignEngine.process` for the same event, context and state: the state then holds the
event's own occurrence, as the engine saw it. It reads the state and never writes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from tidings.core.campaigns.context import EvaluationContext
from tidings.core.campaigns.engine import (
    TRIGGER,
    CampaignEngine,
    Miss,
    Status,
    event_miss,
    gate,
)
from tidings.core.campaigns.model import Campaign
from tidings.core.campaigns.state import EngineState
from tidings.core.campaigns.targeting import (
    CustomPropertySlot,
    EventCountSlot,
    EventDateSlot,
    InstallDateSlot,
    ListSlot,
    Slot,
    VersionSlot,
)
from tidings.core.events import EventRecord

_VERSION_LABELS: Final = {
    "os_version": "OS version",
    "app_version": "App version",
    "app_install_version": "App install version",
}
_LIST_LABELS: Final = {"country": "Country", "application": "Application", "cohort": "Cohort"}
STATUS_TEXT: Final[dict[str, str]] = {
    "SUCCESS": "shown",
    "EXPIRED": "the schedule has ended",
    "HOLDOUT": "this device is in the holdout group",
    "QUIET_TIME": "quiet time on the device",
    "SESSION_CAP": "a per-session frequency limit is reached",
    "CAMPAIGN_CAP": "the campaign's frequency limit is reached",
    "DAILY_CAP": "the project's daily cap is reached",
    "LOWER_PRIORITY": "a campaign with higher priority was shown",
}
"""What each decision status means, for decisions other than ``SUCCESS``."""


@dataclass(frozen=True, slots=True)
class Explanation:
    """One campaign's reason for no decision on one event: the rule and the sentence."""

    campaign_id: str
    miss: Miss
    reason: str

    def to_json(self) -> dict[str, object]:
        return {
            "campaignId": self.campaign_id,
            "rule": self.miss.rule,
            "index": self.miss.index,
            "reason": self.reason,
        }


def explain(
    engine: CampaignEngine, event: EventRecord, ctx: EvaluationContext, state: EngineState
) -> list[Explanation]:
    """For every active campaign of ``engine`` (rank order) that made no decision for ``event``,
    the first rule that failed; campaigns that made a decision (whatever its status) are absent.
    """
    session = event.session_id if event.session_id is not None else ctx.session_id
    early = event_miss(event.name, ctx)
    out: list[Explanation] = []
    for campaign in engine.campaigns:
        miss = _miss(campaign, early, event, ctx=ctx, state=state, session=session)
        if miss is not None:
            out.append(Explanation(campaign.id, miss, describe(campaign, miss)))
    return out


def _miss(
    campaign: Campaign,
    early: Miss | None,
    event: EventRecord,
    *,
    ctx: EvaluationContext,
    state: EngineState,
    session: str | None,
) -> Miss | None:
    trigger = campaign.trigger
    if early is not None:
        return early
    if event.name != trigger.name or event.type != trigger.type:
        return TRIGGER
    failing = trigger.first_failing_param(event.properties)
    miss = gate(campaign, failing is None, ctx, state, now=event.timestamp, session=session)
    if miss is not None and miss.rule == "trigger_param":
        return Miss("trigger_param", failing)
    return miss


def slot_label(slot: Slot) -> str:
    """A Who rule's name as the editor shows it."""
    if isinstance(slot, VersionSlot):
        return _VERSION_LABELS.get(slot.attribute, slot.attribute)
    if isinstance(slot, ListSlot):
        return _LIST_LABELS.get(slot.slot, slot.slot)
    if isinstance(slot, CustomPropertySlot):
        return f"custom property {slot.key}"
    if isinstance(slot, InstallDateSlot):
        return "install date"
    if isinstance(slot, EventCountSlot):
        return f"count of {slot.event.name}"
    assert isinstance(slot, EventDateSlot)
    return f"{slot.bound} {slot.event.name}"


def describe(campaign: Campaign, miss: Miss) -> str:
    """The sentence for ``miss`` on ``campaign`` ("Who rule 2 (OS version) did not match")."""
    trigger = campaign.trigger
    rule = miss.rule
    if rule == "background":
        return "the app was in the background (campaigns trigger only in the foreground)"
    if rule == "not_triggering":
        return "this event never triggers campaigns (it is caused by a campaign)"
    if rule == "trigger":
        return f"the trigger is {trigger.name} ({trigger.type}), not this event"
    if rule == "trigger_param":
        index = miss.index if miss.index is not None else 0
        param = trigger.params[index] if index < len(trigger.params) else None
        name = f" ({param.name} {param.compare_type} {param.value})" if param else ""
        return f"trigger filter {index + 1}{name} did not match the event's properties"
    if rule == "repeat":
        return "the repeat rule skips this occurrence of the trigger"
    if rule == "who":
        index = miss.index if miss.index is not None else 0
        label = slot_label(campaign.targeting[index]) if index < len(campaign.targeting) else ""
        return f"Who rule {index + 1} ({label}) did not match"
    if rule == "not_started":
        return "the schedule has not started yet"
    return rule  # pragma: no cover - every rule of MISS_RULES is named above


def status_text(status: Status) -> str:
    """What a decision's status means ("the campaign's frequency limit is reached")."""
    return STATUS_TEXT[status]
