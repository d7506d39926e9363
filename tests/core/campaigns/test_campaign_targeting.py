"""Every targeting slot, the numeric version order and the missing-attribute rules."""

from __future__ import annotations

from typing import Any

import pytest
from campaign_builders import DAY, HOUR, MIN, T0, Device, campaign_json

from tidings.core.campaigns import EngineState, EvaluationContext, parse_campaign
from tidings.core.campaigns.targeting import parse_slot
from tidings.core.campaigns.values import parse_version
from tidings.core.errors import InvalidCampaign
from tidings.core.profile import DeviceProfile

FULL = DeviceProfile(
    device_id="d-1",
    platform="iOS",
    os_version="17.1",
    app_version="2.10.0",
    app_install_version="2.0",
    country="US",
    timezone="Europe/Warsaw",
    install_time=T0 - 10 * DAY,
    application="app-1",
)
EMPTY = DeviceProfile(device_id="d-1")


def holds(
    item: dict[str, Any],
    *,
    profile: DeviceProfile = FULL,
    now: int = T0,
    state: EngineState | None = None,
    **ctx: Any,
) -> bool:
    slot = parse_slot(item, "targeting[0]")
    context = EvaluationContext(profile=profile, **ctx)
    return slot.holds(context, state or EngineState(), now)


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        ("1.10", "1.9", 1),
        ("1.2", "1.2.0", 0),
        ("2", "1.99.99", 1),
        ("1.0.1", "1", 1),
        ("10.0", "9.9", 1),
        ("1.2.3-beta", "1.2.3", 0),
        ("0.9", "1", -1),
    ],
)
def test_versions_compare_numerically_part_by_part(left: str, right: str, expected: int) -> None:
    a, b = parse_version(left), parse_version(right)
    assert a is not None and b is not None
    assert ((a > b) - (a < b)) == expected


@pytest.mark.parametrize(
    ("slot", "compare", "value", "expected"),
    [
        ("appVersion", "greater", "2.9", True),  # 2.10.0 > 2.9
        ("appVersion", "less", "2.9", False),
        ("appVersion", "equal", "2.10", True),
        ("appVersion", "notEqual", "2.10", False),
        ("appVersion", "greaterOrEqual", "2.10.0", True),
        ("appVersion", "lessOrEqual", "2.9.9", False),
        ("osVersion", "greaterOrEqual", "17", True),
        ("osVersion", "less", "17.0.1", False),
        ("appInstallVersion", "equal", "2.0.0", True),
        ("appInstallVersion", "isSet", None, True),
        ("appInstallVersion", "isNotSet", None, False),
    ],
)
def test_version_slots(slot: str, compare: str, value: str | None, expected: bool) -> None:
    body: dict[str, Any] = {"compareType": compare}
    if value is not None:
        body["value"] = value
    assert holds({slot: body}) is expected


@pytest.mark.parametrize(
    ("compare", "expected"),
    [
        ("equal", False),
        ("notEqual", True),
        ("greater", False),
        ("less", False),
        ("greaterOrEqual", False),
        ("lessOrEqual", False),
        ("isSet", False),
        ("isNotSet", True),
    ],
)
def test_missing_version_satisfies_only_not_set_and_not_equal(compare: str, expected: bool) -> None:
    body = {"compareType": compare, "value": "1.0"}
    for slot in ("osVersion", "appVersion", "appInstallVersion"):
        assert holds({slot: body}, profile=EMPTY) is expected


def test_country_include_exclude_and_missing() -> None:
    assert holds({"country": {"type": "include", "values": ["PL", "us"]}})
    assert not holds({"country": {"type": "include", "values": ["PL"]}})
    assert holds({"country": {"type": "exclude", "values": ["PL"]}})
    assert not holds({"country": {"type": "exclude", "values": ["US"]}})
    assert not holds({"country": {"type": "include", "values": ["US"]}}, profile=EMPTY)
    assert holds({"country": {"type": "exclude", "values": ["US"]}}, profile=EMPTY)


def test_application_include_exclude_and_missing() -> None:
    assert holds({"application": {"type": "include", "values": ["app-1"]}})
    assert not holds({"application": {"type": "exclude", "values": ["app-1"]}})
    assert not holds({"application": {"type": "include", "values": ["app-1"]}}, profile=EMPTY)
    assert holds({"application": {"type": "exclude", "values": ["app-1"]}}, profile=EMPTY)


def test_cohort_membership() -> None:
    item_in = {"cohort": {"type": "include", "values": ["vip", "beta"]}}
    item_out = {"cohort": {"type": "exclude", "values": ["vip"]}}
    assert holds(item_in, cohorts=frozenset({"beta"}))
    assert not holds(item_in)
    assert holds(item_out)
    assert not holds(item_out, cohorts=frozenset({"vip"}))


def prop(
    compare: str, value_type: str = "string", value: Any = None, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"key": "k", "compareType": compare, "valueType": value_type, **extra}
    if value is not None:
        body["value"] = value
    return {"customProperty": body}


@pytest.mark.parametrize(
    ("item", "props", "expected"),
    [
        (prop("equal", "string", "pro"), {"k": "pro"}, True),
        (prop("equal", "string", "pro"), {"k": "Pro"}, False),
        (prop("notEqual", "string", "pro"), {"k": "free"}, True),
        (prop("equal", "string", "5"), {"k": 5}, True),
        (prop("greater", "number", "100"), {"k": 150}, True),
        (prop("greater", "number", "100"), {"k": 100}, False),
        (prop("greaterOrEqual", "number", "100"), {"k": 100.0}, True),
        (prop("less", "number", "1.5"), {"k": 1}, True),
        (prop("lessOrEqual", "number", "1.5"), {"k": "1.5"}, True),
        (prop("equal", "number", "3"), {"k": 3.0}, True),
        (prop("equal", "number", "1"), {"k": True}, False),  # a boolean is not a number
        (prop("notEqual", "number", "1"), {"k": "abc"}, True),  # unreadable reads as missing
        (prop("equal", "boolean", "true"), {"k": True}, True),
        (prop("equal", "boolean", "false"), {"k": True}, False),
        (prop("notEqual", "boolean", "false"), {"k": True}, True),
        (prop("equal", "boolean", "true"), {"k": "true"}, True),
        (prop("isSet"), {"k": ""}, True),
        (prop("isSet"), {}, False),
        (prop("isNotSet"), {}, True),
        (prop("isNotSet"), {"k": 0}, False),
    ],
)
def test_custom_property_value_types(
    item: dict[str, Any], props: dict[str, Any], expected: bool
) -> None:
    assert holds(item, custom_properties=props) is expected


@pytest.mark.parametrize(
    ("compare", "expected"),
    [
        ("equal", False),
        ("notEqual", True),
        ("greater", False),
        ("less", False),
        ("greaterOrEqual", False),
        ("lessOrEqual", False),
        ("isSet", False),
        ("isNotSet", True),
    ],
)
def test_missing_custom_property(compare: str, expected: bool) -> None:
    for value_type, value in (("string", "a"), ("number", "1"), ("boolean", "true")):
        item = prop(compare, value_type, None if compare in ("isSet", "isNotSet") else value)
        assert holds(item) is expected


def test_custom_property_datetime_absolute_relative_and_text() -> None:
    recent = {"k": T0 - 2 * HOUR}
    relative = {"type": "relative", "relativeValue": 1, "dimension": "days"}
    assert holds(prop("greater", "datetime", dateValue=relative), custom_properties=recent)
    assert not holds(prop("less", "datetime", dateValue=relative), custom_properties=recent)
    relative_min = {"type": "relative", "relativeValue": 30, "dimension": "minutes"}
    assert holds(prop("less", "datetime", dateValue=relative_min), custom_properties=recent)
    absolute = {"type": "absolute", "absoluteValue": T0 - 5 * HOUR}
    assert holds(prop("greater", "datetime", dateValue=absolute), custom_properties=recent)
    # "is" on a date means the same UTC calendar day
    assert holds(prop("equal", "datetime", str(T0)), custom_properties=recent)
    assert holds(prop("equal", "datetime", "2026-01-05"), custom_properties=recent)
    assert holds(prop("notEqual", "datetime", "2026-01-06"), custom_properties=recent)
    assert holds(
        prop("less", "datetime", "2026-01-06T00:00:00Z"),
        custom_properties={"k": "2026-01-05T23:00:00+00:00"},
    )
    assert not holds(prop("greater", "datetime", dateValue=relative))
    assert holds(prop("notEqual", "datetime", dateValue=relative))


def test_install_date() -> None:
    more_than_7 = {
        "installDate": {"compareType": "less", "value": {"type": "relative", "relativeValue": 7}}
    }
    less_than_30 = {
        "installDate": {
            "compareType": "greater",
            "value": {"type": "relative", "relativeValue": 30, "dimension": "days"},
        }
    }
    same_day = {
        "installDate": {
            "compareType": "equal",
            "value": {"type": "absolute", "absoluteValue": T0 - 10 * DAY + 5 * HOUR},
        }
    }
    assert holds(more_than_7)
    assert holds(less_than_30)
    assert holds(same_day)  # installed 10:00, reference 15:00 the same UTC day
    next_day = {
        "installDate": {
            "compareType": "equal",
            "value": {"type": "absolute", "absoluteValue": T0 - 9 * DAY},
        }
    }
    assert not holds(next_day)
    assert not holds(more_than_7, profile=EMPTY)
    not_equal = {
        "installDate": {
            "compareType": "notEqual",
            "value": {"type": "absolute", "absoluteValue": T0},
        }
    }
    assert holds(not_equal, profile=EMPTY)
    assert holds({"installDate": {"compareType": "isNotSet"}}, profile=EMPTY)
    assert not holds({"installDate": {"compareType": "isSet"}}, profile=EMPTY)


def history_device(targeting: list[dict[str, Any]]) -> Device:
    return Device([campaign_json(trigger="Check", targeting=targeting)])


def count_slot(
    compare: str, value: int, params: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {
        "eventCount": {
            "event": {"name": "Purchase", "type": "custom", "params": params or []},
            "compareType": compare,
            "value": value,
        }
    }


def test_event_count_never_happened_is_equal_zero() -> None:
    device = history_device([count_slot("equal", 0)])
    assert device.fired("Check")
    device.emit("Purchase")
    assert not device.fired("Check")


@pytest.mark.parametrize(
    ("compare", "value", "expected"),
    [
        ("equal", 2, True),
        ("notEqual", 2, False),
        ("greater", 1, True),
        ("less", 3, True),
        ("greaterOrEqual", 3, False),
        ("lessOrEqual", 2, True),
    ],
)
def test_event_count_compare_types(compare: str, value: int, expected: bool) -> None:
    device = history_device([count_slot(compare, value)])
    device.emit("Purchase")
    device.emit("Purchase")
    assert device.fired("Check") is expected


def test_event_count_with_params_counts_only_matching_events() -> None:
    params = [{"name": "amount", "value": "100", "compareType": ">=", "valueType": "number"}]
    device = history_device([count_slot("equal", 1, params)])
    device.emit("Purchase", {"amount": 20})
    assert not device.fired("Check")
    device.emit("Purchase", {"amount": 250})
    assert device.fired("Check")


def test_event_count_rejects_set_compares_and_negative_values() -> None:
    with pytest.raises(InvalidCampaign) as info:
        parse_slot(count_slot("isSet", 0), "targeting[0]")
    assert info.value.field == "targeting[0].eventCount.compareType"
    with pytest.raises(InvalidCampaign) as info:
        parse_slot(count_slot("equal", -1), "targeting[0]")
    assert info.value.field == "targeting[0].eventCount.value"


def date_slot(mode: str, bound: str = "last", **extra: Any) -> dict[str, Any]:
    return {
        "eventDate": {
            "event": {"name": "Purchase", "type": "custom"},
            "bound": bound,
            "mode": mode,
            **extra,
        }
    }


def test_event_date_relative_modes_and_never() -> None:
    more = history_device([date_slot("moreThanDaysAgo", relativeValue=2)])
    more_or_never = history_device([date_slot("moreThanDaysAgoOrNever", relativeValue=2)])
    within = history_device([date_slot("withinLastDays", relativeValue=2)])
    assert not more.fired("Check")  # never happened
    assert more_or_never.fired("Check")
    assert not within.fired("Check")
    for device in (more, more_or_never, within):
        device.emit("Purchase")
        device.advance(DAY)
    assert not more.fired("Check") and not more_or_never.fired("Check") and within.fired("Check")
    for device in (more, more_or_never, within):
        device.advance(2 * DAY)
    assert more.fired("Check") and more_or_never.fired("Check") and not within.fired("Check")


def test_event_date_relative_units() -> None:
    device = history_device([date_slot("withinLastDays", relativeValue=90, relativeUnit="minutes")])
    device.emit("Purchase")
    device.advance(80 * MIN)
    assert device.fired("Check")
    device.advance(20 * MIN)
    assert not device.fired("Check")
    hours = history_device([date_slot("moreThanDaysAgo", relativeValue=3, relativeUnit="hours")])
    hours.emit("Purchase")
    hours.advance(2 * HOUR)
    assert not hours.fired("Check")
    hours.advance(HOUR)
    assert hours.fired("Check")


def test_event_date_first_and_last_bounds() -> None:
    first = history_device([date_slot("moreThanDaysAgo", bound="first", relativeValue=5)])
    last = history_device([date_slot("moreThanDaysAgo", bound="last", relativeValue=5)])
    for device in (first, last):
        device.emit("Purchase")
        device.advance(10 * DAY)
        device.emit("Purchase")
    assert first.fired("Check")
    assert not last.fired("Check")


def test_event_date_absolute_whole_utc_days() -> None:
    # T0 is 2026-01-05T10:00Z; the purchase happens on 2026-01-05 (UTC).
    before_6 = history_device([date_slot("beforeDate", absoluteValue="2026-01-06")])
    before_5 = history_device([date_slot("beforeDate", absoluteValue="2026-01-05")])
    after_4 = history_device([date_slot("afterDate", absoluteValue="2026-01-04")])
    after_5 = history_device([date_slot("afterDate", absoluteValue="2026-01-05")])
    for device in (before_6, before_5, after_4, after_5):
        assert not device.fired("Check")  # never happened: no absolute mode holds
        device.emit("Purchase")
    assert before_6.fired("Check")
    assert not before_5.fired("Check")
    assert after_4.fired("Check")
    assert not after_5.fired("Check")


@pytest.mark.parametrize(
    ("extra", "path"),
    [
        ({"mode": "beforeDate", "absoluteValue": "2026-02-30"}, "absoluteValue"),
        ({"mode": "beforeDate", "absoluteValue": "5/1/2026"}, "absoluteValue"),
        ({"mode": "afterDate"}, "absoluteValue"),
        ({"mode": "afterDate", "absoluteValue": "2026-01-01", "relativeValue": 1}, "relativeValue"),
        ({"mode": "withinLastDays"}, "relativeValue"),
        ({"mode": "withinLastDays", "relativeValue": 0}, "relativeValue"),
        (
            {"mode": "withinLastDays", "relativeValue": 1, "absoluteValue": "2026-01-01"},
            "absoluteValue",
        ),
        ({"mode": "withinLastDays", "relativeValue": 1, "relativeUnit": "weeks"}, "relativeUnit"),
        ({"mode": "sometime", "relativeValue": 1}, "mode"),
    ],
)
def test_event_date_validation(extra: dict[str, Any], path: str) -> None:
    item = {"eventDate": {"event": {"name": "P", "type": "custom"}, "bound": "last", **extra}}
    with pytest.raises(InvalidCampaign) as info:
        parse_slot(item, "targeting[3]")
    assert info.value.field == f"targeting[3].eventDate.{path}"


def test_each_item_sets_exactly_one_slot() -> None:
    with pytest.raises(InvalidCampaign) as info:
        parse_slot({}, "targeting[0]")
    assert info.value.field == "targeting[0]"
    both = {
        "country": {"type": "include", "values": ["US"]},
        "cohort": {"type": "include", "values": ["x"]},
    }
    with pytest.raises(InvalidCampaign):
        parse_slot(both, "targeting[0]")
    with pytest.raises(InvalidCampaign) as info:
        parse_slot({"segment": {"id": 1}}, "targeting[0]")
    assert "unknown: segment" in info.value.reason


def test_at_most_twenty_event_conditions() -> None:
    twenty = [count_slot("greater", 0) for _ in range(20)]
    assert parse_campaign(campaign_json(targeting=twenty))
    with pytest.raises(InvalidCampaign) as info:
        parse_campaign(
            campaign_json(targeting=[*twenty, date_slot("withinLastDays", relativeValue=1)])
        )
    assert info.value.field == "targeting"


def test_all_items_must_hold() -> None:
    device = Device(
        [
            campaign_json(
                targeting=[
                    {"country": {"type": "include", "values": ["US"]}},
                    prop("equal", "string", "pro"),
                ]
            )
        ],
        profile=FULL,
    )
    assert not device.fired()
    device.set(custom_properties={"k": "pro"})
    assert device.fired()
    device.set(profile=EMPTY)
    assert not device.fired()


def test_failed_targeting_means_no_decision() -> None:
    device = Device([campaign_json(targeting=[prop("isSet")])])
    assert device.emit("Purchase") == []
