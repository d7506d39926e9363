"""Destination instances: subscriptions routing messages into pending work, end to end."""

from __future__ import annotations

import pytest
from amplitude_messages import message
from amplitude_standin import Standin

from tidings.core.errors import InvalidConfig
from tidings.core.events import EventRecord
from tidings.core.profile import DeviceProfile
from tidings.destinations import MessageContext, to_segment_message
from tidings.destinations.amplitude import (
    AmplitudeSender,
    Destination,
    Settings,
    currents_from_json,
    to_pending,
)

NOW = 1_700_000_000_000


def test_default_instance_routes_orders_to_log_purchase() -> None:
    dest = Destination(Settings(api_key="k"))
    order = message(
        event="Order Completed",
        properties={"revenue": 5, "products": [{"price": 5, "quantity": 1}]},
    )
    items = dest.work(order, NOW).items
    assert [i.event["event_type"] for i in items if i.event] == [
        "Order Completed",
        "Product Purchased",
    ]
    assert [i.key for i in items] == [
        "msg-1/Order Completed Calls/0",
        "msg-1/Order Completed Calls/0:1",
    ]
    assert dest.work(message(type="alias"), NOW).items == []


def test_form_requests_become_one_item() -> None:
    dest = Destination(Settings(api_key="k"))
    (item,) = dest.work(message(type="identify"), NOW).items
    assert item.request is not None and item.request.form is not None
    assert item.event is None


def test_batch_endpoint_and_options_travel_with_items() -> None:
    dest = Destination.from_json(
        {
            "settings": {"apiKey": "k"},
            "subscriptions": [
                {
                    "name": "all",
                    "action": "logEvent",
                    "trigger": 'type = "track"',
                    "mapping": {"use_batch_endpoint": True, "min_id_length": 3},
                }
            ],
        }
    )
    (item,) = dest.work(message(), NOW).items
    assert (item.api, item.options) == ("batch", {"min_id_length": 3})


def test_from_json_errors_name_the_subscription() -> None:
    with pytest.raises(InvalidConfig) as err:
        Destination.from_json({"subscriptions": [{"action": "logEvent"}, {"action": "nope"}]})
    assert err.value.field == "subscriptions[1].action"
    with pytest.raises(InvalidConfig):
        Destination.from_json({"subscriptions": [{"action": "logEvent"}] * 51})
    with pytest.raises(InvalidConfig) as trigger_err:
        Destination.from_json({"subscriptions": [{"action": "logEvent", "trigger": "type ="}]})
    assert "trigger" in trigger_err.value.field


def test_to_pending_keys_extra_events() -> None:
    dest = Destination(Settings(api_key="k"))
    (request,) = dest.requests(message(event="Order Completed", properties={"products": [{}, {}]}))
    assert [i.key for i in to_pending(request, "m", NOW)] == ["m", "m:1", "m:2"]


def test_currents_from_json() -> None:
    currents = currents_from_json({"settings": {"apiKey": "k", "prefix": "[Appboy]"}})
    assert currents.prefix == "[Appboy]"
    with pytest.raises(InvalidConfig):
        currents_from_json({"settings": {"prefix": ""}})


def test_sdk_events_end_to_end_through_the_standin() -> None:
    device = DeviceProfile(
        device_id="device-0001", platform="android", os_version="14", app_version="1.0"
    )
    ctx = MessageContext(user_id="user-0001", session_started_at=NOW - 5_000)
    records = [
        EventRecord(
            f"evt-{i:03d}", name, "custom" if name[0] != "S" else "system", NOW + i, "s1", {"i": i}
        )
        for i, name in enumerate(["SessionStarted", "LevelUp", "LevelUp", "SessionFinished"])
    ]
    with Standin() as amp:
        dest = Destination(Settings(api_key="test-key", base_url=amp.url))
        items = [
            item
            for r in records
            for item in dest.work(to_segment_message(r, device, ctx), NOW).items
        ]
        sender = AmplitudeSender(dest.settings, clock=lambda: NOW)
        first = sender.send(items)
        again = sender.send(items)
    assert {o.kind for o in first + again} == {"delivered"}
    types = [e["event_type"] for e in amp.accepted]
    assert types == ["session_start", "LevelUp", "LevelUp", "session_end"]
    assert len({(e["insert_id"]) for e in amp.accepted}) == 4
    assert all(e["session_id"] == NOW - 5_000 for e in amp.accepted)


def test_unmappable_messages_are_rejected_not_raised() -> None:
    dest = Destination.from_json(
        {
            "subscriptions": [
                {
                    "name": "strict",
                    "action": "logEvent",
                    "mapping": {"event_id": {"@path": "$.properties.genre"}},
                },
                {"name": "plain", "action": "logEvent"},
            ]
        }
    )
    work = dest.work(message(), NOW)
    assert [i.key for i in work.items] == ["msg-1/plain/0"]
    (rejected,) = work.rejected
    assert (rejected.key, rejected.kind) == ("msg-1/strict", "dead")
    assert "event_id" in rejected.reason
