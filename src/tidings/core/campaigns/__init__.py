"""Campaigns: the model, targeting, triggers, repeat rules, limits and the decision engine.

Sans-IO: :meth:`CampaignEngine.process` takes one recorded event, the device context and the
device's :class:`EngineState`, and returns the decisions; time is the event's timestamp.
"""

from tidings.core.campaigns.audience import (
    AudienceEstimate,
    AudienceRules,
    KnownDevice,
    ProfileView,
    audience_rules,
    estimate,
)
from tidings.core.campaigns.buckets import Treatment, holdout_bucket, murmur3_32, pick_treatment
from tidings.core.campaigns.context import EvaluationContext
from tidings.core.campaigns.engine import (
    CAMPAIGN_CAP,
    DAILY_CAP,
    EXPIRED,
    HOLDOUT,
    LOWER_PRIORITY,
    QUIET_TIME,
    SESSION_CAP,
    SUCCESS,
    CampaignEngine,
    Decision,
    Status,
)
from tidings.core.campaigns.limits import Limit, ProjectSettings, parse_project_settings
from tidings.core.campaigns.model import (
    CAMPAIGN_RULES,
    Campaign,
    CampaignParts,
    CampaignRule,
    parse_campaign,
    parse_campaigns,
    validate_campaign,
    validate_campaigns,
)
from tidings.core.campaigns.repeat import Repeat
from tidings.core.campaigns.schedule import local_day, zone
from tidings.core.campaigns.state import EngineState
from tidings.core.campaigns.trigger import EventFilter, parse_data_set_params, parse_event_filter

__all__ = [
    "CAMPAIGN_CAP",
    "CAMPAIGN_RULES",
    "DAILY_CAP",
    "EXPIRED",
    "HOLDOUT",
    "LOWER_PRIORITY",
    "QUIET_TIME",
    "SESSION_CAP",
    "SUCCESS",
    "AudienceEstimate",
    "AudienceRules",
    "Campaign",
    "CampaignEngine",
    "CampaignParts",
    "CampaignRule",
    "Decision",
    "EngineState",
    "EvaluationContext",
    "EventFilter",
    "KnownDevice",
    "Limit",
    "ProfileView",
    "ProjectSettings",
    "Repeat",
    "Status",
    "Treatment",
    "audience_rules",
    "estimate",
    "holdout_bucket",
    "local_day",
    "murmur3_32",
    "parse_campaign",
    "parse_campaigns",
    "parse_data_set_params",
    "parse_event_filter",
    "parse_project_settings",
    "pick_treatment",
    "validate_campaign",
    "validate_campaigns",
    "zone",
]
