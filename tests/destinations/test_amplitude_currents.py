"""Currents mode: Braze Currents naming of exported events."""

from __future__ import annotations

from typing import Any

import orjson

from tidings.core.events import EventRecord
from tidings.core.profile import DeviceProfile
from tidings.destinations import MessageContext, to_segment_message
from tidings.destinations.amplitude import Currents, Settings

DEVICE = DeviceProfile(
    device_id="device-123", platform="android", os_version="14", app_version="2.0"
)


def msg(
    name: str, props: dict[str, Any], *, counter: int = 3, ts: int = 1_700_000_060_000
) -> dict[str, Any]:
    record = EventRecord(
        id=f"id-{name}", name=name, type="custom", timestamp=ts, session_id="s", properties=props
    )
    ctx = MessageContext(
        user_id="user-1",
        session_started_at=1_700_000_000_000,
        session_counter=counter,
        device_model="Pixel 8",
    )
    return to_segment_message(record, DEVICE, ctx)


def test_custom_event_names_and_properties() -> None:
    (event,) = Currents().events(msg("LevelUp", {"level": 3}))
    assert event["event_type"] == "[Tidings] [Custom Event] LevelUp"
    assert event["event_properties"] == {"[Custom event property] level": 3}
    assert (event["user_id"], event["device_id"], event["insert_id"]) == (
        "user-1",
        "device-123",
        "id-LevelUp",
    )
    assert event["time"] == 1_700_000_060_000
    assert event["session_id"] == 1_700_000_000_000


def test_prefix_is_configurable() -> None:
    (event,) = Currents(prefix="[Appboy]").events(msg("LevelUp", {}))
    assert event["event_type"] == "[Appboy] [Custom Event] LevelUp"


def test_purchase() -> None:
    (event,) = Currents().events(
        msg("Purchase", {"price": 4.5, "product_id": "gems", "currency": "USD"})
    )
    assert event["event_type"] == "[Tidings] Purchase"
    assert event["event_properties"]["[Purchase property] price"] == 4.5
    assert (event["price"], event["productId"]) == (4.5, "gems")


def test_sessions() -> None:
    first, start = Currents().events(msg("SessionStarted", {"type": "cold"}, counter=1))
    assert first["event_type"] == "[Tidings] First Session"
    assert start["event_type"] == "[Tidings] Session Start"
    assert first["insert_id"] != start["insert_id"]
    assert start["event_properties"] == {"session_id": 1_700_000_000_000}
    assert [
        e["event_type"] for e in Currents().events(msg("SessionStarted", {"type": "warm"}))
    ] == ["[Tidings] Session Start"]
    (end,) = Currents().events(msg("SessionFinished", {}))
    assert end["event_type"] == "[Tidings] Session End"
    assert end["event_properties"] == {"session_id": 1_700_000_000_000, "duration": 60.0}


def test_campaign_engagement() -> None:
    currents = Currents(campaigns={"c1": {"name": "Welcome", "treatment": "B"}}, app_id="app-1")
    (shown,) = currents.events(msg("CampaignShown", {"source": "LevelUp", "campaignId": "c1"}))
    assert shown["event_type"] == "[Tidings] In-App Message Impression"
    assert shown["event_properties"] == {
        "campaign_id": "c1",
        "campaign_name": "Welcome",
        "message_variation_id": "B",
        "app_id": "app-1",
        "platform": "android",
        "os_version": "14",
        "device_model": "Pixel 8",
    }
    (click,) = currents.events(msg("CampaignResolved", {"campaignId": "c1", "result": "Completed"}))
    assert click["event_type"] == "[Tidings] In-App Message Click"
    assert (
        currents.events(msg("CampaignResolved", {"campaignId": "c1", "result": "Dismissed"})) == []
    )


def test_other_system_events_are_not_exported() -> None:
    for name in ("SdkInitialized", "ConfigFetchStarted", "EventTriggered", "CustomPropertyChanged"):
        assert Currents().events(msg(name, {})) == []
    assert Currents().events({"type": "identify"}) == []


def test_requests_batch_events_into_one_body() -> None:
    currents = Currents(settings=Settings(api_key="k", endpoint="europe"))
    (request,) = currents.requests([msg("A", {}), msg("SdkInitialized", {}), msg("B", {})])
    assert request.url == "https://api.eu.amplitude.com/2/httpapi"
    assert request.json is not None
    assert [e["event_type"] for e in request.json["events"]] == [
        "[Tidings] [Custom Event] A",
        "[Tidings] [Custom Event] B",
    ]
    assert currents.requests([msg("SdkInitialized", {})]) == []


def test_missing_context_values_are_left_out() -> None:
    bare = [
        {"type": "track", "event": "LevelUp", "messageId": "m1", "anonymousId": "anon-1"},
        {"type": "track", "event": "SessionStarted", "anonymousId": "anon-1", "context": {}},
        {"type": "track", "event": "SessionFinished", "anonymousId": "anon-1"},
        {"type": "track", "event": "CampaignShown", "properties": {"campaignId": "c1"}},
        {"type": "track", "event": "Purchase", "properties": {"price": 1}, "context": {"os": {}}},
    ]
    (request,) = Currents().requests(bare)
    assert request.json is not None
    orjson.dumps(request.json)  # no marker for a missing value reaches the body
    custom = request.json["events"][0]
    assert custom == {
        "device_id": "anon-1",
        "insert_id": "m1",
        "event_type": "[Tidings] [Custom Event] LevelUp",
        "event_properties": {},
    }
    impression = request.json["events"][3]
    assert impression["event_properties"] == {"campaign_id": "c1"}
