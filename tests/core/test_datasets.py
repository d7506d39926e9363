"""Data-set snapshots computed from device state."""

from __future__ import annotations

import random

import pytest

from tidings.core.campaigns import CampaignEngine, parse_campaign
from tidings.core.device import Device
from tidings.core.errors import InvalidInput
from tidings.core.ids import IdFactory
from tidings.core.profile import DeviceProfile

PROFILE = DeviceProfile(
    device_id="d-1",
    platform="Android",
    os_version="14",
    app_version="2.3.0",
    app_install_version="2.0.0",
    country="PL",
    timezone="Europe/Warsaw",
    install_time=5,
)


def device(engine: CampaignEngine | None = None) -> Device:
    return Device(PROFILE, IdFactory(random.Random(0).randbytes), campaigns=engine)


def test_device_user_custom_session() -> None:
    d = device()
    d.launch(1_000)
    d.set_user_id("u-7")
    d.set_custom_property("tier", "pro", 2_000)
    d.track("Tap", None, 3_000)
    assert d.snapshot("@device", 9_000) == {
        "deviceId": "d-1",
        "platform": "Android",
        "osVersion": "14",
        "appVersion": "2.3.0",
        "appInstallVersion": "2.0.0",
        "country": "PL",
        "timezone": "Europe/Warsaw",
        "installTime": 5,
        "serverTime": 9_000,
    }
    assert d.snapshot("@user", 9_000) == {"userId": "u-7"}
    assert d.snapshot("@custom", 9_000) == {"tier": "pro"}
    session = d.snapshot("@session", 9_000)
    assert session["counter"] == 1
    assert session["id"] == d.state.session.session_id
    assert session["startedAt"] == 1_000
    assert session["duration"] == 8_000
    # SessionStarted, SdkInitialized, CustomPropertyChanged, Tap, EventTriggered
    assert session["eventCount"] == 5


def test_events_and_triggered_event_counts() -> None:
    d = device()
    d.launch(0)
    d.track("Buy", {"plan": "annual"}, 10)
    d.track("Buy", {"plan": "monthly"}, 20)
    d.background(25)
    d.foreground(100_000)  # a new (warm) session
    d.track("Buy", None, 100_010)
    assert d.snapshot(
        "@events",
        0,
        events=[{"name": "Buy", "type": "custom"}, {"name": "Never", "type": "custom"}],
    ) == {
        "Buy": {"count": 3, "first": 10, "last": 100_010},
        "Never": {"count": 0, "first": None, "last": None},
    }
    assert d.snapshot("@triggeredEvent", 0, eventName="Buy") == {"count": 3}
    assert d.snapshot("@triggeredEvent", 0, eventName="Buy", countStrategy="session") == {
        "count": 1
    }
    assert d.snapshot("@triggeredEvent", 0, eventName="SessionStarted", type="system") == {
        "count": 2
    }


def test_param_filtered_history_is_kept_for_filters_campaigns_use() -> None:
    campaign = parse_campaign(
        {
            "id": "c1",
            "type": "DeepLink",
            "state": "Active",
            "content": {"url": "app://x"},
            "triggering": {
                "event": {
                    "name": "Buy",
                    "type": "custom",
                    "params": [{"name": "plan", "value": "annual"}],
                }
            },
            "targeting": [],
        }
    )
    d = device(CampaignEngine([campaign]))
    d.launch(0)
    d.track("Buy", {"plan": "annual"}, 10)
    d.track("Buy", {"plan": "monthly"}, 20)
    got = d.snapshot(
        "@triggeredEvent", 0, eventName="Buy", params=[{"name": "plan", "value": "annual"}]
    )
    assert got == {"count": 1}


@pytest.mark.parametrize(
    ("kind", "params", "field"),
    [
        ("@nope", {}, "kind"),
        ("@triggeredEvent", {}, "eventName"),
        ("@triggeredEvent", {"eventName": "A", "countStrategy": "user"}, "countStrategy"),
        ("@events", {"events": {}}, "events"),
        ("@events", {"events": [{"type": "custom"}]}, "events[0].name"),
        ("@events", {"events": [{"name": "A", "type": "x"}]}, "events[0].type"),
    ],
)
def test_bad_snapshot_requests_name_the_field(kind: str, params: dict, field: str) -> None:
    d = device()
    d.launch(0)
    with pytest.raises(InvalidInput) as info:
        d.snapshot(kind, 0, **params)
    assert info.value.field == field
