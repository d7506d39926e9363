"""Outbox items and memoised triggers: what the pipeline stores must come back unchanged."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tidings.core.mapping import parse_trigger
from tidings.destinations.amplitude import Pending, Subscription
from tidings.destinations.amplitude.items import (
    decode_item,
    encode_item,
    order_key,
    order_key_of_bytes,
)
from tidings.destinations.logmessage import (
    message_from_payload,
    reference_sdk_message,
    sdk_message,
)
from tidings.destinations.request import Request

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from([0.0, 1.0, 2.5]),
    st.text(max_size=3),
)
names = st.sampled_from(["track", "identify", "Order Completed", "SessionStarted", "x", ""])


@settings(max_examples=80, deadline=None)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "type": st.one_of(names, scalars),
            "event": st.one_of(names, scalars),
            "properties": st.dictionaries(st.sampled_from(["a", "b"]), scalars, max_size=2),
        },
    ),
    st.sampled_from(
        [
            'type = "track" and event != "Order Completed"',
            'type = "identify" or exists(properties.a)',
            "properties.a = 1 and (event = true or event = null)",
            'event = "x" or type != "track"',
        ]
    ),
)
def test_a_memoised_trigger_answers_like_the_trigger(message: dict[str, Any], fql: str) -> None:
    sub = Subscription(name="s", action="logEvent", trigger=fql)
    trigger = parse_trigger(fql)
    # Twice: the second answer comes from the memo when the values read are scalars.
    assert sub.matches(message) == trigger(message)
    assert sub.matches(dict(message)) == trigger(message)


def test_items_round_trip_through_outbox_bytes() -> None:
    event = Pending("k1", 5, event={"event_type": "E", "device_id": "dev-12345"}, attempts=2)
    back = decode_item("k1", encode_item(event), 5, 2)
    assert back == event
    assert order_key(back) == "dev-12345"
    form = Request(
        "POST",
        "https://api2.amplitude.com/identify",
        form={"api_key": "k", "identification": '[{"user_id": "u-12345"}]'},
    )
    item = Pending("k2", 7, request=form)
    back = decode_item("k2", encode_item(item), 7, 0)
    assert back.request == form
    assert order_key_of_bytes(encode_item(item)) == "u-12345"


def test_sdk_payloads_become_track_messages_and_decisions_export_nothing() -> None:
    payload = {
        "source": "sdk",
        "appId": "app-1",
        "device": {"deviceId": "dev-12345", "platform": "ios", "osVersion": "17.1"},
        "userId": "u-1",
        "session": {"id": "s-1", "startedAt": 1_000, "counter": 2},
        "event": {
            "id": "ev-1",
            "name": "Level Up",
            "type": "custom",
            "timestamp": 2_000,
            "sessionId": "s-1",
            "properties": {"level": 3},
        },
    }
    message = message_from_payload("event", payload)
    assert message is not None
    assert (message["type"], message["event"], message["messageId"]) == (
        "track",
        "Level Up",
        "ev-1",
    )
    assert message["anonymousId"] == "dev-12345" and message["userId"] == "u-1"
    assert message["context"]["session"] == {"id": "s-1", "startedAt": 1_000, "counter": 2}
    assert message_from_payload("decision", payload) is None
    segment = {"source": "segment", "message": {"type": "identify", "userId": "u-1"}}
    assert message_from_payload("event", segment) == {"type": "identify", "userId": "u-1"}


_TEXTS = st.one_of(st.none(), st.sampled_from(["", "ios", "Android", "web", "x-1"]), scalars)
_SDK_PAYLOADS = st.fixed_dictionaries(
    {},
    optional={
        "appId": _TEXTS,
        "userId": _TEXTS,
        "customProperties": st.one_of(scalars, st.dictionaries(st.sampled_from(["p"]), scalars)),
        "device": st.one_of(
            scalars,
            st.fixed_dictionaries(
                {},
                optional={
                    k: _TEXTS
                    for k in (
                        "deviceId",
                        "platform",
                        "osVersion",
                        "appVersion",
                        "model",
                        "manufacturer",
                        "locale",
                        "timezone",
                        "country",
                    )
                },
            ),
        ),
        "session": st.one_of(
            scalars,
            st.fixed_dictionaries(
                {},
                optional={
                    "startedAt": st.one_of(scalars, st.integers(-(2**63), 2**63 - 1)),
                    "counter": st.one_of(st.integers(0, 3), scalars),
                },
            ),
        ),
        "event": st.one_of(
            scalars,
            st.fixed_dictionaries(
                {"timestamp": st.integers(0, 2**41)},
                optional={
                    "id": _TEXTS,
                    "name": _TEXTS,
                    "sessionId": _TEXTS,
                    "properties": st.one_of(scalars, st.dictionaries(st.just("a"), scalars)),
                },
            ),
        ),
    },
)


@pytest.mark.slow
@settings(max_examples=1000, deadline=None)
@given(_SDK_PAYLOADS, _TEXTS, _TEXTS)
@example({"event": {"timestamp": 5}, "session": {"counter": 1}}, None, None)
@example({"event": {"timestamp": 5, "sessionId": "s"}, "device": {"platform": "MacOS"}}, "d", 1)
def test_the_one_pass_sdk_message_equals_the_reference(
    payload: dict[str, Any], device_id: Any, user_id: Any
) -> None:
    """Same message, key order included, as through ``EventRecord`` and ``to_segment_message``."""
    fast = sdk_message(payload, device_id=device_id, user_id=user_id)
    reference = reference_sdk_message(payload, device_id=device_id, user_id=user_id)
    assert orjson.dumps(fast) == orjson.dumps(reference)


@pytest.mark.parametrize("device", [{}, {"deviceId": ""}, {"deviceId": None, "platform": "iOS"}])
def test_an_event_without_a_device_id_goes_without_one(device: dict[str, Any]) -> None:
    """No device id is left out: Amplitude gets the user id alone, never ``device_id: ""`` or
    ``"undefined"`` (both refused as invalid ids)."""
    from tidings.destinations.amplitude import preview

    payload = {"event": {"id": "e1", "name": "Level Up", "timestamp": 1_700_000_000_000}}
    payload["device"] = device
    message = message_from_payload("event", payload, device_id=None, user_id="user-1")
    assert message is not None and message["anonymousId"] is None
    assert "id" not in message["context"].get("device", {})
    reference = reference_sdk_message(payload, user_id="user-1")
    assert orjson.dumps(message) == orjson.dumps(reference)
    (request,) = preview(message, "logEvent")
    (event,) = request["json"]["events"]
    assert event["user_id"] == "user-1" and event["event_type"] == "Level Up"
    assert "device_id" not in event and "idfv" not in event
    assert b"undefined" not in orjson.dumps(request)
