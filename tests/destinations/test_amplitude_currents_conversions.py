"""Logged conversions: Braze's Campaign Conversion Event in Currents mode, and the
``_campaign.conversion`` stream record, from the same stored payload."""

from __future__ import annotations

from typing import Any

import orjson

from tidings.destinations.amplitude import Currents, currents_from_json
from tidings.storage import LogRecord
from tidings.streams.fromlog import records_from_row

CONVERTED_AT = 1_700_000_090_000
CAMPAIGN = {
    "id": "c1",
    "name": "Welcome",
    "type": "DeepLink",
    "triggering": {"event": {"name": "LevelUp", "type": "custom"}},
    "content": {"url": "app://a"},
}


def conversion(treatment: str | None = "B", **extra: Any) -> dict[str, Any]:
    """A conversion as the attribution consumer logs it (the converting event's context)."""
    return {
        "source": "sdk",
        "appId": "app-1",
        "device": {"deviceId": "device-123", "platform": "android", "osVersion": "14"},
        "userId": "user-1",
        "conversion": {
            "id": "dec-1/0",
            "campaignId": "c1",
            "decisionId": "dec-1",
            "treatmentId": treatment,
            "control": treatment is None,
            "goal": 0,
            "eventId": "ev-9",
            "eventName": "Purchase",
            "decidedAt": CONVERTED_AT - 60_000,
            "timestamp": CONVERTED_AT,
            **extra,
        },
    }


def test_a_conversion_is_a_campaign_conversion_event() -> None:
    currents = Currents()
    currents.book.load([("c1", CAMPAIGN)])
    (event,) = currents.record_events("conversion", conversion(), "app-1")
    assert event["event_type"] == "[Tidings] Campaign Conversion Event"
    assert event["event_properties"] == {
        "campaign_id": "c1",
        "campaign_name": "Welcome",
        "message_variation_id": "B",
        "send_id": "dec-1",
        "conversion_behavior_index": 0,
        "conversion_behavior": "Purchase",
        "app_id": "app-1",
    }
    assert (event["insert_id"], event["time"], event["user_id"]) == (
        "dec-1/0",
        CONVERTED_AT,
        "user-1",
    )
    (control,) = currents.record_events("conversion", conversion(None), "app-1")
    assert control["event_properties"]["message_variation_id"] == "control"


def test_the_conversions_category_can_be_left_out() -> None:
    others = currents_from_json({"settings": {"categories": ["customEvents"]}})
    assert others.record_events("conversion", conversion(), "app-1") == []
    assert Currents().record_events("conversion", {"appId": "app-1"}, "app-1") == []


def test_a_conversion_row_is_a_campaign_conversion_stream_record() -> None:
    row = LogRecord(
        seq=5,
        app_id="app-1",
        kind="conversion",
        item_id="dec-1/0",
        name="c1",
        timestamp=CONVERTED_AT,
        arrival_ms=CONVERTED_AT + 5,
        payload=orjson.dumps(conversion(None)),
        device_id="device-123",
        user_id="user-1",
    )
    (record,) = records_from_row(row)
    assert record["event_type"] == "_campaign.conversion"
    assert record["event_timestamp"] == CONVERTED_AT
    assert record["event_id"] == "dec-1/0/conversion"
    assert record["attributes"] == {
        "campaign_id": "c1",
        "campaign_activity_id": "dec-1",
        "treatment_id": "0",
        "control_group": "true",
        "conversion_event_name": "Purchase",
        "conversion_event_id": "ev-9",
        "conversion_index": "0",
    }
    assert record["client"]["client_id"] == "device-123"
