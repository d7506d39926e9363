"""SDK events as Segment-spec track messages (docs/spec/amplitude.md, "Input")."""

from __future__ import annotations

from tidings.core.events import EventRecord
from tidings.core.profile import DeviceProfile
from tidings.destinations import MessageContext, to_segment_message
from tidings.destinations.amplitude import preview

EVENT = EventRecord(
    id="0190b7d6-0000-7000-8000-000000000001",
    name="PurchaseCompleted",
    type="custom",
    timestamp=1629213675449,
    session_id="sess-1",
    properties={"price": 9.5},
)
DEVICE = DeviceProfile(
    device_id="device-123",
    platform="ios",
    os_version="17.2",
    app_version="3.1.0",
    timezone="Europe/Warsaw",
)


def test_full_message() -> None:
    ctx = MessageContext(
        user_id="u-1",
        traits={"tier": "gold"},
        session_started_at=1629213600000,
        session_counter=2,
        device_model="iPhone15,2",
        device_manufacturer="Apple",
        locale="pl-PL",
        library_version="1.2.3",
    )
    msg = to_segment_message(EVENT, DEVICE, ctx)
    assert msg == {
        "type": "track",
        "event": "PurchaseCompleted",
        "messageId": EVENT.id,
        "anonymousId": "device-123",
        "userId": "u-1",
        "properties": {"price": 9.5},
        "traits": {"tier": "gold"},
        "timestamp": "2021-08-17T15:21:15.449Z",
        "context": {
            "device": {
                "id": "device-123",
                "type": "ios",
                "model": "iPhone15,2",
                "manufacturer": "Apple",
            },
            "os": {"name": "iOS", "version": "17.2"},
            "app": {"version": "3.1.0"},
            "locale": "pl-PL",
            "timezone": "Europe/Warsaw",
            "library": {"name": "tidings-python", "version": "1.2.3"},
            "session": {"id": "sess-1", "startedAt": 1629213600000, "counter": 2},
        },
        "integrations": {},
    }


def test_minimal_message_leaves_unknowns_out() -> None:
    msg = to_segment_message(EVENT, DeviceProfile(device_id="d-12345"))
    assert msg["userId"] is None
    assert msg["context"]["device"] == {"id": "d-12345"}
    assert "os" not in msg["context"]
    assert msg["context"]["session"] == {"id": "sess-1"}


def test_sdk_message_maps_to_an_amplitude_event() -> None:
    ctx = MessageContext(user_id="u-12345", session_started_at=1629213600000)
    (request,) = preview(to_segment_message(EVENT, DEVICE, ctx), preset="Track Calls")
    event = request["json"]["events"][0]
    assert event["event_type"] == "PurchaseCompleted"
    assert event["device_id"] == "device-123"
    assert event["platform"] == "iOS"
    assert event["os_name"] == "iOS"
    assert event["session_id"] == 1629213600000
    assert event["insert_id"] == EVENT.id
    assert event["time"] == 1629213675449
    assert event["library"] == "tidings-python"
