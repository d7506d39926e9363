"""The sans-IO core: pure, deterministic logic.

Time comes in as ``now_ms``; nothing here does I/O, reads a clock or starts a thread.
"""

from tidings.core.errors import (
    InvalidCampaign,
    InvalidConfig,
    InvalidEvent,
    InvalidInput,
    InvalidScenario,
    TidingsError,
)
from tidings.core.events import EventRecord
from tidings.core.profile import DeviceProfile

__all__ = [
    "DeviceProfile",
    "EventRecord",
    "InvalidCampaign",
    "InvalidConfig",
    "InvalidEvent",
    "InvalidInput",
    "InvalidScenario",
    "TidingsError",
]
