"""The sans-IO core: pure, deterministic logic.

Time comes in as ``now_ms``; nothing here does I/O, reads a clock or starts a thread.
"""

from tidings.core.campaigns import (
    Campaign,
    CampaignEngine,
    Decision,
    EngineState,
    EvaluationContext,
    ProjectSettings,
    parse_campaign,
    parse_project_settings,
)
from tidings.core.device import Device, DeviceState
from tidings.core.errors import (
    InvalidCampaign,
    InvalidConfig,
    InvalidEvent,
    InvalidInput,
    InvalidScenario,
    TidingsError,
)
from tidings.core.events import EventRecord
from tidings.core.ids import IdFactory
from tidings.core.profile import DeviceProfile
from tidings.core.scenario import Scenario, parse_scenario
from tidings.core.sessions import SessionMachine, SessionState
from tidings.core.simulation import Simulation, simulate

__all__ = [
    "Campaign",
    "CampaignEngine",
    "Decision",
    "Device",
    "DeviceProfile",
    "DeviceState",
    "EngineState",
    "EvaluationContext",
    "EventRecord",
    "IdFactory",
    "InvalidCampaign",
    "InvalidConfig",
    "InvalidEvent",
    "InvalidInput",
    "InvalidScenario",
    "ProjectSettings",
    "Scenario",
    "SessionMachine",
    "SessionState",
    "Simulation",
    "TidingsError",
    "parse_campaign",
    "parse_project_settings",
    "parse_scenario",
    "simulate",
]
