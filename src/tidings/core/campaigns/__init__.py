"""Campaigns: the model, targeting, triggers, repeat rules, limits and the decision engine.

Sans-IO: :meth:`CampaignEngine.process` takes one recorded event, the device context and the
device's :class:`EngineState`, and returns the decisions; time is the event's timestamp.
"""

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
from tidings.core.campaigns.goals import (
    CLOCK_TOLERANCE_MS,
    MAX_CONVERSIONS,
    Conversion,
    Exposure,
    Goal,
    conversions_of,
    exposure_of,
    identity_of,
    longest_window_ms,
    parse_conversions,
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
from tidings.core.campaigns.results import (
    GroupResult,
    Results,
    build_results,
    day_range,
    lift,
    lift_interval,
    results_csv_rows,
    wilson_interval,
)
from tidings.core.campaigns.schedule import local_day, zone
from tidings.core.campaigns.state import EngineState
from tidings.core.campaigns.trigger import EventFilter, parse_data_set_params, parse_event_filter

__all__ = [
    "CAMPAIGN_CAP",
    "CAMPAIGN_RULES",
    "CLOCK_TOLERANCE_MS",
    "DAILY_CAP",
    "EXPIRED",
    "HOLDOUT",
    "LOWER_PRIORITY",
    "MAX_CONVERSIONS",
    "QUIET_TIME",
    "SESSION_CAP",
    "SUCCESS",
    "Campaign",
    "CampaignEngine",
    "CampaignParts",
    "CampaignRule",
    "Conversion",
    "Decision",
    "EngineState",
    "EvaluationContext",
    "EventFilter",
    "Exposure",
    "Goal",
    "GroupResult",
    "Limit",
    "ProjectSettings",
    "Repeat",
    "Results",
    "Status",
    "Treatment",
    "build_results",
    "conversions_of",
    "day_range",
    "exposure_of",
    "holdout_bucket",
    "identity_of",
    "lift",
    "lift_interval",
    "local_day",
    "longest_window_ms",
    "murmur3_32",
    "parse_campaign",
    "parse_campaigns",
    "parse_conversions",
    "parse_data_set_params",
    "parse_event_filter",
    "parse_project_settings",
    "pick_treatment",
    "results_csv_rows",
    "validate_campaign",
    "validate_campaigns",
    "wilson_interval",
    "zone",
]
