"""Repeat rules: which occurrences fire (docs/spec/campaigns.md, Repeat, with its examples)."""

from __future__ import annotations

from typing import Any

from campaign_builders import Device, campaign_json

from tidings.core.campaigns.repeat import parse_repeat


def rule(
    kind: str, entity: str, values: list[int], sub: dict[str, Any] | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {"repeatType": kind, "repeatEntity": entity, "repeatValue": values}
    if sub is not None:
        out["subRepeat"] = sub
    return out


def fire_pattern(device: Device, times: int, name: str = "Purchase") -> list[bool]:
    return [device.fired(name) for _ in range(times)]


def test_default_is_every_occurrence() -> None:
    assert fire_pattern(Device([campaign_json()]), 4) == [True] * 4


def test_every_second_purchase() -> None:
    device = Device([campaign_json(repeat=rule("every", "event", [2]))])
    assert fire_pattern(device, 6) == [False, True, False, True, False, True]


def test_every_with_several_values_fires_on_multiples_of_any() -> None:
    device = Device([campaign_json(repeat=rule("every", "event", [2, 3]))])
    assert fire_pattern(device, 6) == [False, True, True, True, False, True]


def test_interval_fires_on_listed_occurrences() -> None:
    device = Device([campaign_json(repeat=rule("interval", "event", [1, 3]))])
    assert fire_pattern(device, 5) == [True, False, True, False, False]


def test_occurrence_count_is_lifetime_across_sessions() -> None:
    device = Device([campaign_json(repeat=rule("interval", "event", [3]))])
    device.fired()
    device.new_session()
    device.fired()
    device.new_session()
    assert device.fired()


def test_occurrence_count_counts_only_events_matching_params() -> None:
    params = [{"name": "plan", "value": "annual"}]
    device = Device([campaign_json(params=params, repeat=rule("every", "event", [2]))])
    got = [
        device.fired("Purchase", {"plan": plan})
        for plan in ("annual", "monthly", "annual", "annual", "annual")
    ]
    assert got == [False, False, True, False, True]


def test_backgrounded_events_still_count_as_occurrences() -> None:
    device = Device([campaign_json(repeat=rule("every", "event", [2]))])
    device.set(foreground=False)
    assert device.emit("Purchase") == []
    device.set(foreground=True)
    assert device.fired()


def test_session_entity_uses_session_counter() -> None:
    device = Device([campaign_json(repeat=rule("every", "session", [2]))])
    assert not device.fired()  # session 1
    device.new_session()
    assert device.fired() and device.fired()  # session 2, every occurrence
    device.new_session()
    assert not device.fired()


def test_third_to_fifth_session_first_time_in_session() -> None:
    repeat = rule("interval", "session", [3, 4, 5], sub=rule("interval", "event", [1]))
    device = Device([campaign_json(repeat=repeat)])
    pattern = []
    for _ in range(6):
        pattern.append(fire_pattern(device, 2))
        device.new_session()
    assert pattern == [
        [False, False],
        [False, False],
        [True, False],
        [True, False],
        [True, False],
        [False, False],
    ]


def test_sub_repeat_under_event_repeat_uses_lifetime_count() -> None:
    # every 2nd occurrence, and only the 4th: both read the lifetime count
    repeat = rule("every", "event", [2], sub=rule("interval", "event", [4]))
    device = Device([campaign_json(repeat=repeat)])
    device.fired()
    device.new_session()
    assert fire_pattern(device, 4) == [False, False, True, False]


def test_session_scoped_sub_repeat_every_second_in_session() -> None:
    repeat = rule("every", "session", [1], sub=rule("every", "event", [2]))
    device = Device([campaign_json(repeat=repeat)])
    assert fire_pattern(device, 3) == [False, True, False]
    device.new_session()
    assert fire_pattern(device, 2) == [False, True]


def test_session_started_every_nth_is_every_nth_session() -> None:
    device = Device(
        [
            campaign_json(
                trigger="SessionStarted", trigger_type="system", repeat=rule("every", "event", [2])
            )
        ]
    )
    fired = [any(d.status == "SUCCESS" for d in device.new_session()) for _ in range(4)]
    assert fired == [False, True, False, True]


def test_session_scoping_marks_only_nested_rules() -> None:
    parsed = parse_repeat(rule("interval", "session", [3], sub=rule("interval", "event", [1])), "r")
    assert not parsed.session_scoped
    assert parsed.sub is not None and parsed.sub.session_scoped
    assert not parse_repeat(rule("every", "event", [1]), "r").session_scoped


def test_repeat_failing_means_no_decision() -> None:
    device = Device([campaign_json(repeat=rule("every", "event", [2]))])
    assert device.emit("Purchase") == []
