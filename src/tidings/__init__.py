"""Tidings: self-hostable in-app engagement platform and event router.

The names an app needs: the SDK client (:class:`Tidings`), its gate types, the event record, and
the error hierarchy. Server-side packages (``tidings.server``, ``tidings.storage``, ...) are
imported explicitly, so embedding the SDK never loads them.
"""

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
from tidings.sdk import GateDecision, Resolution, Tidings
from tidings.version import VERSION

__version__ = VERSION

__all__ = [
    "DeviceProfile",
    "EventRecord",
    "GateDecision",
    "InvalidCampaign",
    "InvalidConfig",
    "InvalidEvent",
    "InvalidInput",
    "InvalidScenario",
    "Resolution",
    "Tidings",
    "TidingsError",
    "__version__",
]
