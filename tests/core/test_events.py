"""Event validation and system event payloads (docs/spec/events.md)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tidings.core import events as ev
from tidings.core.errors import InvalidEvent, TidingsError
from tidings.core.events import (
    SYSTEM_EVENT_NAMES,
    validate_custom_event,
    validate_name,
    validate_properties,
)


def test_invalid_event_is_a_value_error_and_a_tidings_error() -> None:
    with pytest.raises(InvalidEvent) as info:
        validate_name("")
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, TidingsError)
    assert info.value.field == "name"


@pytest.mark.parametrize("name", sorted(SYSTEM_EVENT_NAMES))
def test_custom_event_may_not_use_a_system_name(name: str) -> None:
    with pytest.raises(InvalidEvent, match="reserved system event name"):
        validate_custom_event(name, None)


def test_system_names_are_the_complete_contract_list() -> None:
    assert {
        "SdkInitialized",
        "ConfigFetchStarted",
        "ConfigFetchFinished",
        "SessionStarted",
        "SessionFinished",
        "CampaignShown",
        "EventTriggered",
        "CustomPropertyChanged",
        "CampaignResolved",
    } == SYSTEM_EVENT_NAMES


def test_system_names_are_allowed_for_system_events() -> None:
    assert validate_name("SessionStarted", custom=False) == "SessionStarted"


@pytest.mark.parametrize(
    ("name", "reason"),
    [("", "must not be empty"), (7, "must be a string"), ("x" * 256, "at most 255")],
)
def test_bad_names(name: object, reason: str) -> None:
    with pytest.raises(InvalidEvent, match=reason):
        validate_name(name)


def test_name_of_255_characters_is_allowed() -> None:
    assert validate_name("x" * 255) == "x" * 255


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "must not be null"),
        ([1], "flat value"),
        ({"a": 1}, "flat value"),
        ({1, 2}, "flat value"),
        ((1,), "flat value"),
        (b"x", "not bytes"),
        (math.nan, "finite"),
        (math.inf, "finite"),
        (-math.inf, "finite"),
        ("x" * 1025, "at most 1024"),
        (2**63, "64 bits"),
        (datetime(2026, 1, 1), "timezone-aware"),
    ],
)
def test_bad_property_values_name_the_field(value: object, reason: str) -> None:
    with pytest.raises(InvalidEvent, match=reason) as info:
        validate_properties({"ok": 1, "bad": value})
    assert info.value.field == "properties['bad']"
    assert str(info.value).startswith("properties['bad']: ")


@pytest.mark.parametrize(
    ("key", "reason"), [("", "must not be empty"), (1, "must be a string"), ("k" * 256, "255")]
)
def test_bad_property_keys(key: object, reason: str) -> None:
    with pytest.raises(InvalidEvent, match=reason):
        validate_properties({key: 1})


def test_properties_must_be_a_map() -> None:
    with pytest.raises(InvalidEvent) as info:
        validate_properties([("a", 1)])
    assert info.value.field == "properties"


def test_none_properties_mean_empty() -> None:
    assert validate_properties(None) == {}


def test_aware_datetimes_become_epoch_ms() -> None:
    warsaw_summer = timezone(timedelta(hours=2))
    got = validate_properties(
        {
            "utc": datetime(2026, 1, 5, 10, 0, 0, 123000, tzinfo=UTC),
            "plus2": datetime(2026, 6, 1, 12, 0, tzinfo=warsaw_summer),
        }
    )
    assert got == {"utc": 1767607200123, "plus2": 1780308000000}


def test_primitives_are_kept_with_their_types() -> None:
    got = validate_properties({"s": "a", "i": 3, "f": 2.5, "b": True, "z": 0})
    assert got == {"s": "a", "i": 3, "f": 2.5, "b": True, "z": 0}
    assert type(got["b"]) is bool
    assert type(got["i"]) is int


def test_string_of_1024_characters_is_allowed() -> None:
    assert validate_properties({"s": "y" * 1024}) == {"s": "y" * 1024}


primitive = st.one_of(
    st.text(max_size=50),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
)


@given(st.dictionaries(st.text(min_size=1, max_size=20), primitive, max_size=10))
def test_valid_flat_maps_are_returned_unchanged(props: dict[str, object]) -> None:
    assert validate_properties(props) == props


@given(st.dictionaries(st.text(min_size=1, max_size=5), primitive, max_size=5), st.text(min_size=1))
def test_one_nested_value_rejects_the_whole_map(props: dict[str, object], key: str) -> None:
    bad = dict(props)
    bad[key] = [1, 2]
    with pytest.raises(InvalidEvent) as info:
        validate_properties(bad)
    assert repr(key) in info.value.field


def test_system_event_payloads() -> None:
    assert ev.sdk_initialized() == ("SdkInitialized", {})
    assert ev.config_fetch_started() == ("ConfigFetchStarted", {})
    assert ev.config_fetch_finished(True, [("c1", "Welcome")]) == (
        "ConfigFetchFinished",
        {"campaignCount": 1, "success": True, "campaigns": [{"id": "c1", "name": "Welcome"}]},
    )
    assert ev.session_started("warm") == ("SessionStarted", {"type": "warm"})
    assert ev.session_finished() == ("SessionFinished", {})
    assert ev.campaign_shown("Buy", "c1") == (
        "CampaignShown",
        {"source": "Buy", "campaignId": "c1"},
    )
    assert ev.event_triggered("Buy", {"plan": "annual"}) == (
        "EventTriggered",
        {"sourceEvent": "Buy", "properties": {"plan": "annual"}},
    )


def test_custom_property_changed_omits_absent_sides() -> None:
    assert ev.custom_property_changed("k", new_value=1)[1] == {"key": "k", "newValue": 1}
    assert ev.custom_property_changed("k", old_value=1)[1] == {"key": "k", "oldValue": 1}
    assert ev.custom_property_changed("k", 1, 2)[1] == {"key": "k", "oldValue": 1, "newValue": 2}


def test_campaign_resolved_reason_only_with_unavailable() -> None:
    assert ev.campaign_resolved("c", "Completed") == (
        "CampaignResolved",
        {"campaignId": "c", "result": "Completed"},
    )
    assert ev.campaign_resolved("c", "Unavailable", "TimedOut")[1] == {
        "campaignId": "c",
        "result": "Unavailable",
        "unavailableReason": "TimedOut",
    }
    with pytest.raises(InvalidEvent, match="unavailableReason"):
        ev.campaign_resolved("c", "Unavailable")
    with pytest.raises(InvalidEvent, match="only with result"):
        ev.campaign_resolved("c", "Completed", "TimedOut")
    with pytest.raises(InvalidEvent, match="result"):
        ev.campaign_resolved("c", "Shown")


def test_event_record_wire_form() -> None:
    record = ev.EventRecord("id-1", "Buy", "custom", 5, "s-1", {"a": 1})
    assert record.to_json() == {
        "id": "id-1",
        "name": "Buy",
        "type": "custom",
        "timestamp": 5,
        "sessionId": "s-1",
        "properties": {"a": 1},
    }
