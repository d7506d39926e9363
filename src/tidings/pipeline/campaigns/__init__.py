"""Server-side campaigns in the pipeline: the evaluating consumer and the records it writes."""

from tidings.pipeline.campaigns.consumer import CURSOR, BatchTaken, ServerCampaigns
from tidings.pipeline.delivery.campaign_calls import (
    CUSTOM_DELIVERY_FAILURE,
    decision_in,
    failure_in,
    failure_of_rendered,
    webhook_call,
)

__all__ = [
    "CURSOR",
    "CUSTOM_DELIVERY_FAILURE",
    "BatchTaken",
    "ServerCampaigns",
    "decision_in",
    "failure_in",
    "failure_of_rendered",
    "webhook_call",
]
