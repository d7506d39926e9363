"""Tidings: self-hostable in-app engagement platform and event router."""

from tidings.core import (
    DeviceProfile,
    EventRecord,
    InvalidCampaign,
    InvalidConfig,
    InvalidEvent,
    InvalidInput,
    InvalidScenario,
    TidingsError,
)

__version__ = "0.1.0"

__all__ = [
    "DeviceProfile",
    "EventRecord",
    "InvalidCampaign",
    "InvalidConfig",
    "InvalidEvent",
    "InvalidInput",
    "InvalidScenario",
    "TidingsError",
    "__version__",
]
