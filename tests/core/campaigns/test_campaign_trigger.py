"""Trigger matching: name, type and params with type conversion (contracts, "Trigger")."""

from __future__ import annotations

from typing import Any

import pytest
from campaign_builders import Device, campaign_json

from tidings.core.campaigns.trigger import parse_event_filter


def matches(
    params: list[dict[str, Any]],
    properties: dict[str, Any],
    *,
    name: str = "E",
    type_: str = "custom",
) -> bool:
    flt = parse_event_filter({"name": "E", "type": "custom", "params": params}, "e")
    return flt.matches(name, type_, properties)


def p(compare: str, value: Any, value_type: str = "string") -> list[dict[str, Any]]:
    return [{"name": "x", "value": value, "compareType": compare, "valueType": value_type}]


def test_name_and_type_must_equal() -> None:
    assert matches([], {})
    assert not matches([], {}, name="Other")
    assert not matches([], {}, type_="system")


@pytest.mark.parametrize(
    ("params", "properties", "expected"),
    [
        (p("===", "annual"), {"x": "annual"}, True),
        (p("===", "annual"), {"x": "Annual"}, False),
        (p("!==", "annual"), {"x": "monthly"}, True),
        (p("===", "5"), {"x": 5}, True),  # string compare reads the number as text
        (p("===", "true"), {"x": True}, True),
        (p("===", "10", "number"), {"x": 10.0}, True),
        (p("===", "10", "number"), {"x": "10"}, True),
        (p(">", "10", "number"), {"x": 10.5}, True),
        (p(">", "10", "number"), {"x": 10}, False),
        (p(">=", "10", "number"), {"x": 10}, True),
        (p("<", "10", "number"), {"x": 9}, True),
        (p("<=", "10", "number"), {"x": 11}, False),
        (p(">", "9", "number"), {"x": "10"}, True),  # numbers, not text: 10 > 9
        (p(">", "abc", "string"), {"x": "abd"}, True),
        (p("===", "10", "number"), {"x": True}, False),
        (p("===", "true", "boolean"), {"x": True}, True),
        (p("===", "false", "boolean"), {"x": "false"}, True),
        (p("!==", "true", "boolean"), {"x": False}, True),
        (p("===", "true", "boolean"), {"x": 1}, False),
    ],
)
def test_param_conversion(
    params: list[dict[str, Any]], properties: dict[str, Any], expected: bool
) -> None:
    assert matches(params, properties) is expected


@pytest.mark.parametrize(
    ("compare", "value_type", "expected"),
    [
        ("===", "string", False),
        ("!==", "string", True),
        (">", "number", False),
        (">=", "number", False),
        ("<", "number", False),
        ("<=", "number", False),
        ("===", "boolean", False),
        ("!==", "boolean", True),
    ],
)
def test_missing_property_fails_all_but_not_equal(
    compare: str, value_type: str, expected: bool
) -> None:
    value = {"string": "a", "number": "1", "boolean": "true"}[value_type]
    assert matches(p(compare, value, value_type), {}) is expected
    # an unreadable value behaves like a missing one
    assert matches(p(compare, value, value_type), {"x": [1]}) is expected


def test_every_param_must_hold() -> None:
    params = [
        *p("===", "annual"),
        {"name": "y", "value": "3", "compareType": ">", "valueType": "number"},
    ]
    assert matches(params, {"x": "annual", "y": 4})
    assert not matches(params, {"x": "annual", "y": 2})
    assert not matches(params, {"x": "monthly", "y": 4})


def test_plain_json_scalars_accepted_as_values() -> None:
    assert matches(p("===", 3, "number"), {"x": 3})
    assert matches(p("===", True, "boolean"), {"x": True})


def test_custom_property_changed_params_read_key_old_and_new() -> None:
    params = [
        {"name": "key", "value": "plan"},
        {"name": "newValue", "value": "pro"},
        {"name": "oldValue", "value": "free"},
    ]
    device = Device(
        [campaign_json(trigger="CustomPropertyChanged", trigger_type="system", params=params)]
    )
    changed = {"key": "plan", "oldValue": "free", "newValue": "pro"}
    assert device.fired("CustomPropertyChanged", changed, event_type="system")
    first_set = {"key": "plan", "newValue": "pro"}
    assert not device.fired("CustomPropertyChanged", first_set, event_type="system")
    device2 = Device(
        [
            campaign_json(
                trigger="CustomPropertyChanged",
                trigger_type="system",
                params=[
                    {"name": "key", "value": "plan"},
                    {"name": "oldValue", "value": "x", "compareType": "!=="},
                ],
            )
        ]
    )
    assert device2.fired("CustomPropertyChanged", first_set, event_type="system")


def test_non_matching_params_give_no_decision() -> None:
    device = Device([campaign_json(params=p("===", "annual"))])
    assert device.emit("Purchase", {"x": "monthly"}) == []
    assert device.fired("Purchase", {"x": "annual"})


def test_system_and_custom_events_of_one_name_are_different_triggers() -> None:
    device = Device([campaign_json(trigger="Ping", trigger_type="system")])
    assert device.emit("Ping") == []
    assert device.fired("Ping", event_type="system")
