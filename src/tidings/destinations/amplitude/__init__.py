"""The Amplitude destination: Segment-style "Amplitude (Actions)" mappings and Currents mode."""

from tidings.destinations.amplitude.actions import (
    ACTIONS,
    PRESETS,
    Subscription,
    default_subscriptions,
    get_action,
)
from tidings.destinations.amplitude.currents import Currents
from tidings.destinations.amplitude.delivery import BatchPolicy, Outcome, Pending
from tidings.destinations.amplitude.instance import Destination, Work, currents_from_json
from tidings.destinations.amplitude.items import to_pending
from tidings.destinations.amplitude.preview import preview
from tidings.destinations.amplitude.sender import AmplitudeSender
from tidings.destinations.amplitude.settings import HOSTS, Settings
from tidings.destinations.amplitude.useragent import parse_user_agent

__all__ = [
    "ACTIONS",
    "HOSTS",
    "PRESETS",
    "AmplitudeSender",
    "BatchPolicy",
    "Currents",
    "Destination",
    "Outcome",
    "Pending",
    "Settings",
    "Subscription",
    "Work",
    "currents_from_json",
    "default_subscriptions",
    "get_action",
    "parse_user_agent",
    "preview",
    "to_pending",
]
