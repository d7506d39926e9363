"""What the presets make of an SDK app's events and of Segment's ``integrations`` object.

One ``track()`` is one Amplitude event; a purchase is one event with its revenue; a property
change is one Identify; the SDK's plumbing events send nothing; ``preview`` reads SDK JSON.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from amplitude_messages import message

from tidings.core.errors import InvalidConfig
from tidings.core.events import SYSTEM_EVENT_NAMES
from tidings.destinations.amplitude import Destination, preview
from tidings.destinations.logmessage import message_over, sdk_message

T0 = 1_764_300_000_000
DEVICE = {"deviceId": "device-123456", "platform": "ios", "osVersion": "17.1"}


def record(name: str, properties: dict[str, Any] | None = None) -> dict[str, Any]:
    """An SDK event record (``system`` for the SDK's own names)."""
    return {
        "id": f"e-{name}",
        "name": name,
        "type": "system" if name in SYSTEM_EVENT_NAMES else "custom",
        "timestamp": T0,
        "sessionId": "s-1",
        "properties": properties or {},
    }


def payload(event: dict[str, Any]) -> dict[str, Any]:
    return {
        "source": "sdk",
        "appId": "app-1",
        "device": DEVICE,
        "userId": "user-12345",
        "customProperties": {"plan_tier": "free"},
        "session": {"id": "s-1", "counter": 1, "startedAt": T0 - 1000},
        "event": event,
    }


def sent(
    event: dict[str, Any], settings: dict[str, Any] | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The Amplitude events and the form requests the presets send for one SDK event."""
    msg = sdk_message(payload(event))
    assert msg is not None
    requests = Destination.from_json({"settings": settings or {}}).requests(msg)
    events = [e for r in requests if r.json is not None for e in r.json["events"]]
    forms = [r.to_preview() for r in requests if r.form is not None]
    return events, forms


@pytest.mark.parametrize(
    ("name", "properties", "event_types"),
    [
        ("Song Played", {"genre": "jazz"}, ["Song Played"]),
        ("SessionStarted", {"type": "cold"}, ["session_start"]),
        ("SessionFinished", {}, ["session_end"]),
        ("CampaignShown", {"source": "Song Played", "campaignId": "c1"}, ["CampaignShown"]),
        ("CampaignResolved", {"campaignId": "c1", "result": "Completed"}, ["CampaignResolved"]),
        ("EventTriggered", {"sourceEvent": "Song Played", "properties": {}}, []),
        ("SdkInitialized", {}, []),
        ("ConfigFetchStarted", {}, []),
        ("ConfigFetchFinished", {"campaignCount": 0, "success": True, "campaigns": []}, []),
        ("CustomPropertyChanged", {"key": "plan_tier", "newValue": "pro"}, []),
    ],
)
def test_each_sdk_event_gives_at_most_one_amplitude_event(
    name: str, properties: dict[str, Any], event_types: list[str]
) -> None:
    events, forms = sent(record(name, properties))
    assert [e["event_type"] for e in events] == event_types
    assert len(forms) == (1 if name == "CustomPropertyChanged" else 0)


@pytest.mark.parametrize(
    ("change", "user_properties"),
    [
        ({"key": "plan_tier", "newValue": "pro"}, {"$set": {"plan_tier": "pro"}}),
        ({"key": "plan_tier", "oldValue": "free", "newValue": 2}, {"$set": {"plan_tier": 2}}),
        ({"key": "plan_tier", "oldValue": "pro"}, {"$unset": {"plan_tier": "-"}}),
    ],
)
def test_a_property_change_is_an_identify(
    change: dict[str, Any], user_properties: dict[str, Any]
) -> None:
    events, (identify,) = sent(record("CustomPropertyChanged", change))
    assert events == []
    assert identify["url"] == "https://api2.amplitude.com/identify"
    parsed = orjson.loads(identify["form"]["identification"])
    assert parsed["user_properties"] == user_properties
    assert (parsed["user_id"], parsed["device_id"]) == ("user-12345", "device-123456")
    assert parsed["insert_id"] == "e-CustomPropertyChanged"


def test_the_change_belongs_to_its_own_event_of_an_upload() -> None:
    """An upload's second event reuses the first one's message for what they share; the
    property change is the event's own."""
    change = sdk_message(payload(record("CustomPropertyChanged", {"key": "k", "newValue": 1})))
    assert change is not None and change["userPropertyOperations"] == {"$set": {"k": 1}}
    plain = message_over(change, record("Song Played"))
    assert "userPropertyOperations" not in plain
    again = message_over(plain, record("CustomPropertyChanged", {"key": "k"}))
    assert again["userPropertyOperations"] == {"$unset": {"k": "-"}}


@pytest.mark.parametrize(
    ("properties", "revenue"),
    [
        (
            {"sku": "premium_yearly", "price": 59.99, "currency": "USD", "is_trial": False},
            {"revenue": 59.99, "price": 59.99, "productId": "premium_yearly", "currency": "USD"},
        ),
        (
            {"productId": "p-1", "product_id": "p-2", "price": 10, "quantity": 3},
            {"revenue": 30, "price": 10, "quantity": 3, "productId": "p-1"},
        ),
        ({"product_id": "p-2", "revenue": 12.5}, {"revenue": 12.5, "productId": "p-2"}),
    ],
)
def test_purchase_completed_is_one_purchase_with_its_revenue(
    properties: dict[str, Any], revenue: dict[str, Any]
) -> None:
    (event,), forms = sent(record("PurchaseCompleted", properties))
    assert forms == []
    assert event["event_type"] == "PurchaseCompleted"
    assert event["revenueType"] == "Purchase"
    assert {k: event[k] for k in revenue} == revenue
    assert event["event_properties"] == properties


def test_purchase_events_are_set_per_destination() -> None:
    settings = {"purchaseEvents": ["Subscribed", "Order Completed"]}
    (event,), _ = sent(record("Subscribed", {"price": 4.99}), settings)
    assert (event["event_type"], event["revenue"]) == ("Subscribed", 4.99)
    (plain,), _ = sent(record("PurchaseCompleted", {"price": 4.99}), settings)
    assert "revenue" not in plain
    destination = Destination.from_json({"settings": settings})
    order = message(event="Order Completed", properties={"revenue": 20})
    names = [s.name for s in destination.subscriptions if s.matches(order)]
    assert names == ["Order Completed Calls"]
    without = Destination.from_json({"settings": {"purchaseEvents": []}})
    assert "Purchase Calls" not in [s.name for s in without.subscriptions]


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ("PurchaseCompleted", "settings.purchaseEvents"),
        ([""], "settings.purchaseEvents[0]"),
        (["Buy", "SessionStarted"], "settings.purchaseEvents[1]"),
        (["x" * 256], "settings.purchaseEvents[0]"),
    ],
)
def test_bad_purchase_events_are_refused(value: object, field: str) -> None:
    with pytest.raises(InvalidConfig) as err:
        Destination.from_json({"settings": {"purchaseEvents": value}})
    assert err.value.field == field


@pytest.mark.parametrize(
    ("integrations", "routed"),
    [
        ({}, True),
        ({"All": True}, True),
        ({"All": False}, False),
        ({"Actions Amplitude": False}, False),
        ({"Amplitude (Actions)": False}, False),
        ({"All": True, "Actions Amplitude": False}, False),
        ({"All": False, "Actions Amplitude": True}, True),
        ({"All": False, "Amplitude (Actions)": True}, True),
        ({"All": False, "Actions Amplitude": {"session_id": 1629213600000}}, True),
        ({"All": False, "actions amplitude": True}, False),
        ({"Amplitude": False}, True),
        ({"Actions Amplitude": True, "Amplitude (Actions)": False}, False),
    ],
)
def test_the_integrations_object_routes_as_segment_does(
    integrations: dict[str, Any], routed: bool
) -> None:
    destination = Destination.from_json({"settings": {}})
    for msg in (
        message(integrations=integrations),
        message(type="identify", integrations=integrations),
    ):
        assert bool(destination.requests(msg)) is routed
        assert any(s.matches(msg) for s in destination.subscriptions) is routed
    assert bool(preview(message(integrations=integrations))) is routed


def test_preview_reads_the_sdk_event_json_as_delivery_does() -> None:
    event = record("PurchaseCompleted", {"sku": "s-1", "price": 2.5})
    whole = payload(event)
    canonical = sdk_message(whole)
    assert canonical is not None
    expected = preview(canonical)
    assert preview(whole) == expected
    (stored_event,) = preview(event)[0]["json"]["events"]
    assert (stored_event["event_type"], stored_event["revenue"]) == ("PurchaseCompleted", 2.5)
    upload = {
        "device": DEVICE,
        "user": {"userId": "user-12345", "customProperties": {"plan_tier": "free"}},
        "sessions": [{"id": "s-1", "counter": 1, "startedAt": T0 - 1000}],
        "events": [record("Song Played"), event, record("EventTriggered")],
    }
    requests = preview(upload)
    assert [e["event_type"] for r in requests for e in r["json"]["events"]] == [
        "Song Played",
        "PurchaseCompleted",
    ]
    assert requests[1] == expected[0]
    with_action = preview(event, "logEvent")
    assert with_action[0]["json"]["events"][0]["event_type"] == "PurchaseCompleted"
