"""Record shapes for every family, checked against docs/spec/stream.md."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tidings.core.errors import InvalidEvent, InvalidInput
from tidings.core.events import (
    EventRecord,
    campaign_resolved,
    campaign_shown,
    config_fetch_finished,
    custom_property_changed,
    event_triggered,
    session_finished,
    session_started,
)
from tidings.streams.context import SessionSpan, StreamContext
from tidings.streams.records import (
    SEND_STATUSES,
    app_event_records,
    decision_record,
    event_from_json,
    split_properties,
)

ENVELOPE = (
    "event_type",
    "event_timestamp",
    "arrival_timestamp",
    "event_version",
    "application",
    "client",
    "device",
    "session",
    "attributes",
    "metrics",
    "event_id",
)


def check_envelope(record: dict[str, Any]) -> None:
    """The invariants every record obeys, whatever its family."""
    for key in ENVELOPE:
        assert key in record, key
    assert isinstance(record["event_type"], str) and record["event_type"]
    assert type(record["event_timestamp"]) is int
    assert type(record["arrival_timestamp"]) is int
    assert record["event_version"] in ("3.0", "3.1")
    assert isinstance(record["application"]["app_id"], str)
    assert isinstance(record["application"]["sdk"], dict)
    assert isinstance(record["client"]["client_id"], str)
    assert isinstance(record["event_id"], str) and record["event_id"]
    for key, value in record["attributes"].items():
        assert type(key) is str and type(value) is str
        assert len(value) <= 200
    for key, value in record["metrics"].items():
        assert type(key) is str
        assert type(value) in (int, float) and math.isfinite(value)
    # Everything must survive a JSON round trip unchanged.
    assert orjson.loads(orjson.dumps(record)) == record


def check_campaign_envelope(record: dict[str, Any]) -> None:
    check_envelope(record)
    assert record["event_version"] == "3.1"
    assert record["application"]["sdk"] == {}
    assert record["device"] == {"platform": {}}
    assert record["session"] == {}
    endpoint = orjson.loads(record["client_context"]["custom"]["endpoint"])
    assert isinstance(record["client_context"]["custom"]["endpoint"], str)
    assert endpoint["ChannelType"] == "IN_APP"
    assert endpoint["EndpointStatus"] == "ACTIVE"
    assert endpoint["OptOut"] == "NONE"


def event(
    name: str, props: dict[str, Any], *, kind: str = "system", ts: int = 5_000
) -> EventRecord:
    return EventRecord("evt-1", name, kind, ts, "s-1", props)  # type: ignore[arg-type]


def test_session_start_record(context: StreamContext) -> None:
    name, props = session_started("cold")
    (record,) = app_event_records(event(name, props, ts=1_000), context, 1_500)
    check_envelope(record)
    assert record["event_type"] == "_session.start"
    assert record["event_version"] == "3.0"
    assert record["event_timestamp"] == 1_000
    assert record["arrival_timestamp"] == 1_500
    assert record["session"] == {"session_id": "s-1", "start_timestamp": 1_000}
    assert record["attributes"] == {"type": "cold"}
    assert record["metrics"] == {}
    assert record["event_id"] == "evt-1"
    assert record["application"] == {
        "app_id": "app-1",
        "sdk": {"name": "tidings-python", "version": "0.1.0"},
        "title": "Demo",
        "version_name": "2.5.0",
        "package_name": "com.example.demo",
    }
    assert record["client"] == {"client_id": "dev-1", "user_id": "user-1"}
    assert record["device"] == {
        "locale": {"code": "pl_PL", "country": "PL", "language": "pl"},
        "make": "Google",
        "model": "Pixel 8",
        "platform": {"name": "android", "version": "14"},
    }
    assert "client_context" not in record


def test_session_stop_has_stop_timestamp_and_duration(context: StreamContext) -> None:
    name, props = session_finished()
    (record,) = app_event_records(event(name, props, ts=61_000), context, 62_000)
    check_envelope(record)
    assert record["event_type"] == "_session.stop"
    assert record["session"] == {
        "session_id": "s-1",
        "start_timestamp": 1_000,
        "stop_timestamp": 61_000,
    }
    assert record["metrics"] == {"duration_ms": 60_000}


def test_session_start_unknown_falls_back_to_event_time() -> None:
    ctx = StreamContext(app_id="a", client_id="d", sessions={"s-9": SessionSpan("s-9")})
    rec = EventRecord("e", "Tapped", "custom", 7_000, "s-9", {})
    (record,) = app_event_records(rec, ctx, 7_001)
    assert record["session"] == {"session_id": "s-9", "start_timestamp": 7_000}
    no_session = EventRecord("e2", "Tapped", "custom", 7_000, None, {})
    (record,) = app_event_records(no_session, ctx, 7_001)
    assert record["session"] == {}
    # Unknown device facts are left out, never sent as null.
    assert record["device"] == {"locale": {}, "platform": {}}
    assert record["application"] == {"app_id": "a", "sdk": {}}
    assert record["client"] == {"client_id": "d"}


def test_custom_event_splits_properties(context: StreamContext) -> None:
    props = {"plan": "annual", "trial": False, "seats": 3, "ratio": 0.5, "long": "x" * 250}
    (record,) = app_event_records(event("Upgraded", props, kind="custom"), context, 6_000)
    check_envelope(record)
    assert record["event_type"] == "Upgraded"
    assert record["attributes"] == {
        "plan": "annual",
        "trial": "false",
        "long": "x" * 200,
        "_truncated": "true",
    }
    assert record["metrics"] == {"seats": 3, "ratio": 0.5}
    assert record["session"] == {"session_id": "s-1", "start_timestamp": 1_000}


def test_short_attributes_are_not_marked_truncated(context: StreamContext) -> None:
    (record,) = app_event_records(event("X", {"a": "y" * 200}, kind="custom"), context, 1)
    assert record["attributes"] == {"a": "y" * 200}


@pytest.mark.parametrize("name", ["PurchaseCompleted", "Order Completed"])
def test_purchase_adds_monetization_record(context: StreamContext, name: str) -> None:
    props = {"price": 4.99, "quantity": 2, "productId": "gems_100", "currency": "eur"}
    app_record, purchase = app_event_records(event(name, props, kind="custom"), context, 6_000)
    check_envelope(app_record)
    check_envelope(purchase)
    assert app_record["event_type"] == name
    assert app_record["event_id"] == "evt-1"
    assert purchase["event_type"] == "_monetization.purchase"
    assert purchase["event_version"] == "3.0"
    assert purchase["event_id"] == "evt-1/_monetization.purchase"
    assert purchase["metrics"]["_quantity"] == 2
    assert purchase["metrics"]["_item_price"] == 4.99
    assert purchase["attributes"]["_product_id"] == "gems_100"
    assert purchase["attributes"]["_currency"] == "EUR"
    assert purchase["session"] == app_record["session"]


def test_segment_order_completed_uses_total_and_order_id(context: StreamContext) -> None:
    props = {"order_id": "o-77", "total": 30, "quantity": 3}
    _, purchase = app_event_records(event("Order Completed", props, kind="custom"), context, 1)
    assert purchase["metrics"]["_item_price"] == 10
    assert purchase["attributes"]["_product_id"] == "o-77"
    assert purchase["attributes"]["_transaction_id"] == "o-77"
    assert purchase["attributes"]["_currency"] == "USD"


def test_purchase_without_details_still_has_reserved_keys(context: StreamContext) -> None:
    _, purchase = app_event_records(event("PurchaseCompleted", {}, kind="custom"), context, 1)
    assert purchase["metrics"] == {"_quantity": 1, "_item_price": 0}
    assert purchase["attributes"] == {"_product_id": "unknown", "_currency": "USD"}


def test_system_event_named_purchase_is_not_a_purchase(context: StreamContext) -> None:
    records = app_event_records(event("PurchaseCompleted", {}, kind="system"), context, 1)
    assert len(records) == 1


def test_other_system_events_keep_their_names(context: StreamContext) -> None:
    name, props = custom_property_changed("tier", old_value="gold", new_value=3)
    (record,) = app_event_records(event(name, props), context, 1)
    check_envelope(record)
    assert record["event_type"] == "CustomPropertyChanged"
    assert record["attributes"] == {"key": "tier", "oldValue": "gold"}
    assert record["metrics"] == {"newValue": 3}

    name, props = config_fetch_finished(True, [("c-1", "Welcome")])
    (record,) = app_event_records(event(name, props), context, 1)
    check_envelope(record)
    assert record["event_type"] == "ConfigFetchFinished"
    assert record["metrics"] == {"campaignCount": 1}
    assert record["attributes"]["success"] == "true"
    assert orjson.loads(record["attributes"]["campaigns"]) == [{"id": "c-1", "name": "Welcome"}]

    name, props = event_triggered("Tapped", {"n": 1})
    (record,) = app_event_records(event(name, props), context, 1)
    check_envelope(record)
    assert record["attributes"] == {"sourceEvent": "Tapped", "properties": '{"n":1}'}


def test_campaign_shown_streams_app_record_and_displayed(context: StreamContext) -> None:
    name, props = campaign_shown("Tapped", "c-1")
    app_record, displayed = app_event_records(event(name, props), context, 6_000)
    check_envelope(app_record)
    assert app_record["event_type"] == "CampaignShown"
    check_campaign_envelope(displayed)
    assert displayed["event_type"] == "_inapp.message_displayed"
    assert displayed["attributes"] == {"campaign_id": "c-1"}
    assert displayed["event_id"] == "evt-1/_inapp.message_displayed"
    assert displayed["event_timestamp"] == 5_000


@pytest.mark.parametrize(
    ("result", "reason", "event_type"),
    [
        ("Completed", None, "_inapp.message_clicked"),
        ("Dismissed", None, "_inapp.message_dismissed"),
        ("Unavailable", "TimedOut", "_inapp.message_failed"),
        ("SkippedNoPresenter", None, "_inapp.message_failed"),
        ("SkippedNoContinuation", None, "_inapp.message_failed"),
    ],
)
def test_campaign_resolved_outcomes(
    context: StreamContext, result: str, reason: str | None, event_type: str
) -> None:
    name, props = campaign_resolved("c-2", result, reason)
    _, outcome = app_event_records(event(name, props), context, 6_000)
    check_campaign_envelope(outcome)
    assert outcome["event_type"] == event_type
    expected = {"campaign_id": "c-2", "result": result}
    if reason is not None:
        expected["unavailable_reason"] = reason
    assert outcome["attributes"] == expected


@pytest.mark.parametrize("status", sorted(SEND_STATUSES))
def test_decision_record(context: StreamContext, status: str) -> None:
    decision = {
        "id": "dec-1",
        "campaignId": "c-1",
        "status": status,
        "treatmentId": "1",
        "source": "Tapped",
        "eventId": "evt-1",
        "timestamp": 9_000,
    }
    record = decision_record(decision, context, 9_500)
    check_campaign_envelope(record)
    assert record["event_type"] == "_campaign.send"
    assert record["event_timestamp"] == 9_000
    assert record["arrival_timestamp"] == 9_500
    assert record["event_id"] == "dec-1"
    assert record["attributes"] == {
        "campaign_id": "c-1",
        "campaign_activity_id": "dec-1",
        "treatment_id": "1",
        "delivery_type": "IN_APP",
        "campaign_send_status": status,
    }
    assert record["metrics"] == {}
    endpoint = orjson.loads(record["client_context"]["custom"]["endpoint"])
    assert endpoint == {
        "ChannelType": "IN_APP",
        "EndpointStatus": "ACTIVE",
        "OptOut": "NONE",
        "RequestId": "dec-1",
        "EffectiveDate": "1970-01-01T00:00:09.000Z",
        "User": {"UserId": "user-1"},
    }
    assert "awsAccountId" not in record


def test_the_endpoint_names_the_upload_and_the_record_its_account(
    context_factory: Callable[..., StreamContext],
) -> None:
    """As in Pinpoint's example: the request that updated the endpoint, when (the decision's
    time, ISO 8601) and the account the campaign was sent from."""
    ctx = context_factory(aws_account_id="123456789012")
    decision = {"id": "d-1", "campaignId": "c", "status": "SUCCESS", "timestamp": 1562109174836}
    record = decision_record(decision, ctx, 2, request_id="ec229696-9d1e-11e9-8bf1-85d0a")
    endpoint = orjson.loads(record["client_context"]["custom"]["endpoint"])
    assert list(endpoint) == [
        "ChannelType",
        "EndpointStatus",
        "OptOut",
        "RequestId",
        "EffectiveDate",
        "User",
    ]
    assert endpoint["RequestId"] == "ec229696-9d1e-11e9-8bf1-85d0a"
    assert endpoint["EffectiveDate"] == "2019-07-02T23:12:54.836Z"
    assert record["awsAccountId"] == "123456789012"
    assert list(record)[-2:] == ["awsAccountId", "event_id"]
    shown = EventRecord("evt-5", "CampaignShown", "system", 9_000, "s-1", {"campaignId": "c"})
    inapp = app_event_records(shown, ctx, 9_500)[1]
    assert inapp["awsAccountId"] == "123456789012"
    inapp_endpoint = orjson.loads(inapp["client_context"]["custom"]["endpoint"])
    assert (inapp_endpoint["RequestId"], inapp_endpoint["EffectiveDate"]) == (
        "evt-5",
        "1970-01-01T00:00:09.000Z",
    )


def test_server_side_decision_without_user_is_custom_delivery(
    context_factory: Callable[..., StreamContext],
) -> None:
    ctx = context_factory(user_id=None)
    decision = {"id": "d", "campaignId": "c", "status": "CUSTOM_DELIVERY_FAILURE", "timestamp": 1}
    record = decision_record(decision, ctx, 2, delivery_type="CUSTOM")
    assert record["attributes"]["delivery_type"] == "CUSTOM"
    assert record["attributes"]["treatment_id"] == "0"
    assert record["client"] == {"client_id": "dev-1"}
    endpoint = orjson.loads(record["client_context"]["custom"]["endpoint"])
    assert (endpoint["User"], endpoint["ChannelType"]) == ({}, "CUSTOM")
    sms = decision_record(decision, ctx, 2, delivery_type="CUSTOM", channel_type="SMS")
    assert sms["attributes"]["delivery_type"] == "CUSTOM"
    assert orjson.loads(sms["client_context"]["custom"]["endpoint"])["ChannelType"] == "SMS"


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"id": ""}, "id"),
        ({"campaignId": None}, "campaignId"),
        ({"status": 5}, "status"),
        ({"timestamp": "now"}, "timestamp"),
    ],
)
def test_bad_decision_names_the_field(
    context: StreamContext, patch: dict[str, Any], field: str
) -> None:
    decision = {"id": "d", "campaignId": "c", "status": "SUCCESS", "timestamp": 1, **patch}
    with pytest.raises(InvalidInput) as info:
        decision_record(decision, context, 2)
    assert info.value.field == field


def test_stored_json_is_accepted(context: StreamContext) -> None:
    rec = EventRecord("evt-9", "Tapped", "custom", 3_000, "s-1", {"n": 1})
    assert app_event_records(rec.to_json(), context, 4_000) == app_event_records(
        rec, context, 4_000
    )
    with pytest.raises(InvalidEvent) as info:
        event_from_json({"id": "x", "name": "A", "type": "custom", "timestamp": 1.5})
    assert info.value.field == "timestamp"


def test_upload_context_requires_device_id() -> None:
    with pytest.raises(InvalidInput) as info:
        StreamContext.from_upload("a", {"platform": "iOS"})
    assert info.value.field == "device.deviceId"


# --- properties -------------------------------------------------------------------------------

json_scalars = (
    st.text(max_size=300)
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=True, allow_infinity=True)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
property_maps = st.dictionaries(st.text(min_size=1, max_size=20), json_values, max_size=8)


@settings(max_examples=150, deadline=None)
@given(props=property_maps)
def test_split_properties_types(props: dict[str, Any]) -> None:
    attributes, metrics = split_properties(props)
    for key, value in attributes.items():
        assert type(key) is str and type(value) is str and len(value) <= 200
    for value in metrics.values():
        assert type(value) in (int, float) and math.isfinite(value)
    # Every property lands in exactly one of the two maps.
    assert set(attributes) - {"_truncated"} | set(metrics) >= set(props)
    assert not (set(metrics) & (set(attributes) - {"_truncated"}))
    for key, value in props.items():
        if type(value) is bool:
            assert attributes[key] == ("true" if value else "false")
        elif type(value) in (int, float) and math.isfinite(value):
            assert metrics[key] == value
        elif type(value) is str and len(value) <= 200:
            assert attributes[key] == value
    long_text = any(type(v) is str and len(v) > 200 for v in props.values())
    if long_text:
        assert attributes["_truncated"] == "true"
    if "_truncated" not in props and not any(len(v) == 200 for v in attributes.values()):
        assert "_truncated" not in attributes


system_events = st.sampled_from(
    [
        session_started("cold"),
        session_started("warm"),
        session_finished(),
        campaign_shown("Tapped", "c-1"),
        campaign_resolved("c-1", "Completed"),
        campaign_resolved("c-1", "Unavailable", "PresenterFailed"),
        custom_property_changed("k", new_value=1.5),
        config_fetch_finished(False, []),
    ]
)
custom_events = st.tuples(
    st.sampled_from(["PurchaseCompleted", "Order Completed", "Tapped", "Level Up"]),
    property_maps,
)


@settings(max_examples=150, deadline=None)
@given(
    payload=st.one_of(
        system_events.map(lambda e: ("system", *e)), custom_events.map(lambda e: ("custom", *e))
    ),
    timestamp=st.integers(min_value=0, max_value=2**45),
    delay=st.integers(min_value=0, max_value=10**7),
    user_id=st.none() | st.text(min_size=1, max_size=10),
)
def test_every_app_record_keeps_the_envelope(
    context_factory: Callable[..., StreamContext],
    payload: tuple[str, str, dict[str, Any]],
    timestamp: int,
    delay: int,
    user_id: str | None,
) -> None:
    kind, name, props = payload
    rec = EventRecord("evt-h", name, kind, timestamp, "s-1", props)  # type: ignore[arg-type]
    records = app_event_records(rec, context_factory(user_id=user_id), timestamp + delay)
    assert records[0]["event_id"] == "evt-h"
    assert len({r["event_id"] for r in records}) == len(records)
    for record in records:
        check_envelope(record)
        assert record["event_timestamp"] == timestamp
        assert record["arrival_timestamp"] == timestamp + delay


@settings(max_examples=100, deadline=None)
@given(
    status=st.sampled_from(sorted(SEND_STATUSES)),
    treatment=st.none() | st.text(max_size=5) | st.integers(min_value=0, max_value=4),
    ids=st.tuples(st.text(min_size=1, max_size=40), st.text(min_size=1, max_size=40)),
    user_id=st.none() | st.text(min_size=1, max_size=10),
)
def test_every_decision_record_keeps_the_envelope(
    context_factory: Callable[..., StreamContext],
    status: str,
    treatment: Any,
    ids: tuple[str, str],
    user_id: str | None,
) -> None:
    decision = {
        "id": ids[0],
        "campaignId": ids[1],
        "status": status,
        "treatmentId": treatment,
        "timestamp": 5,
    }
    record = decision_record(decision, context_factory(user_id=user_id), 6)
    check_campaign_envelope(record)
    assert record["event_id"] == ids[0]
    user = orjson.loads(record["client_context"]["custom"]["endpoint"])["User"]
    assert user == ({} if user_id is None else {"UserId": user_id})
