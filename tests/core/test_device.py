"""The device orchestrator: the order and content of recorded events."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tidings.core.device import Device, DeviceState, NoSession
from tidings.core.errors import InvalidEvent
from tidings.core.ids import IdFactory
from tidings.core.profile import DeviceProfile


def make_device(state: DeviceState | None = None, timeout_ms: int = 60_000) -> Device:
    return Device(
        DeviceProfile(device_id="d-1", platform="iOS"),
        IdFactory(random.Random(3).randbytes),
        state=state,
        session_timeout_ms=timeout_ms,
    )


def names(records) -> list[str]:
    return [r.name for r in records]


def test_cold_launch_order() -> None:
    d = make_device()
    out = d.launch(1000)
    out += d.config_fetch_started(1000)
    out += d.config_fetch_finished(1000, True, [("c1", "One")])
    assert names(out) == [
        "SessionStarted",
        "SdkInitialized",
        "ConfigFetchStarted",
        "ConfigFetchFinished",
    ]
    assert out[0].properties == {"type": "cold"}
    assert {r.session_id for r in out} == {d.state.session.session_id}


def test_track_records_event_then_event_triggered() -> None:
    d = make_device()
    d.launch(0)
    out = d.track("Buy", {"plan": "annual"}, 5)
    assert [(r.name, r.type) for r in out] == [("Buy", "custom"), ("EventTriggered", "system")]
    assert out[1].properties == {"sourceEvent": "Buy", "properties": {"plan": "annual"}}
    assert all(r.timestamp == 5 for r in out)


def test_track_rejects_bad_input_and_records_nothing() -> None:
    d = make_device()
    d.launch(0)
    before = d.state.session.event_count
    with pytest.raises(InvalidEvent):
        d.track("SessionStarted", None, 1)
    with pytest.raises(InvalidEvent):
        d.track("Buy", {"x": float("nan")}, 1)
    assert d.state.session.event_count == before


def test_nothing_records_before_launch() -> None:
    d = make_device()
    with pytest.raises(NoSession):
        d.track("Buy", None, 0)
    with pytest.raises(NoSession):
        d.set_custom_property("a", 1, 0)
    assert d.custom_properties == {}


def test_events_while_backgrounded_belong_to_the_paused_session() -> None:
    d = make_device()
    d.launch(0)
    sid = d.state.session.session_id
    d.background(10)
    out = d.track("Late", None, 20)
    assert {r.session_id for r in out} == {sid}
    assert not d.in_foreground


def test_property_changes_become_events() -> None:
    d = make_device()
    d.launch(0)
    out = d.set_custom_property("tier", "pro", 1)
    out += d.set_custom_property("tier", "pro", 2)
    out += d.set_custom_properties({"b": 1, "a": 2}, 3)
    out += d.remove_custom_property("tier", 4)
    out += d.clear_custom_properties(5)
    assert [(r.name, r.properties, r.timestamp) for r in out] == [
        ("CustomPropertyChanged", {"key": "tier", "newValue": "pro"}, 1),
        ("CustomPropertyChanged", {"key": "b", "newValue": 1}, 3),
        ("CustomPropertyChanged", {"key": "a", "newValue": 2}, 3),
        ("CustomPropertyChanged", {"key": "tier", "oldValue": "pro"}, 4),
        ("CustomPropertyChanged", {"key": "a", "oldValue": 2}, 5),
        ("CustomPropertyChanged", {"key": "b", "oldValue": 1}, 5),
    ]


def test_user_id_is_not_a_custom_property() -> None:
    d = make_device()
    d.launch(0)
    d.set_user_id("u-1")
    assert d.state.user_id == "u-1"
    assert d.custom_properties == {}
    d.set_user_id(None)
    assert d.state.user_id is None
    with pytest.raises(InvalidEvent, match="userId"):
        d.set_user_id(5)


def test_state_survives_a_restart() -> None:
    d = make_device()
    d.launch(0)
    d.set_custom_property("a", 1, 1)
    d.set_user_id("u")
    restored = make_device(DeviceState.from_json(d.state.to_json()))
    out = restored.launch(10_000)
    assert names(out) == ["SessionFinished", "SessionStarted", "SdkInitialized"]
    assert out[0].timestamp == 1
    assert restored.custom_properties == {"a": 1}
    assert restored.state.user_id == "u"
    assert restored.state.session.counter == 2


def test_config_staleness() -> None:
    d = make_device()
    d.launch(0)
    assert d.config_is_stale(0)
    d.config_fetch_finished(0, True, [])
    assert not d.config_is_stale(d.config_refresh_ms - 1)
    assert d.config_is_stale(d.config_refresh_ms)
    d.config_fetch_finished(d.config_refresh_ms, False, [])
    assert d.config_is_stale(d.config_refresh_ms)


actions = st.lists(
    st.tuples(
        st.sampled_from(["launch", "terminate", "background", "foreground", "track", "set"]),
        st.integers(min_value=0, max_value=200_000),
    ),
    max_size=60,
)


@settings(max_examples=150)
@given(actions)
def test_session_invariants_over_any_lifecycle(steps: list[tuple[str, int]]) -> None:
    d = make_device()
    now = 0
    running = False
    recorded = []
    counters = [0]
    for action, gap in steps:
        now += gap
        if action == "launch":
            out = d.launch(now)
            running = True
        elif not running:
            continue
        elif action == "terminate":
            out = d.terminate(now)
            running = False
        elif action == "background":
            out = d.background(now)
        elif action == "foreground":
            out = d.foreground(now)
        elif action == "track":
            out = d.track("Tap", {"n": gap}, now)
        else:
            out = d.set_custom_property("k", gap % 3, now)
        recorded += out
        counters.append(d.state.session.counter)
    # the counter only grows
    assert counters == sorted(counters)
    # recorded timestamps never go backwards, except that a SessionFinished carries the moment its
    # session ended (the background moment), which may precede events recorded in the background
    stamps = [r.timestamp for r in recorded if r.name != "SessionFinished"]
    assert stamps == sorted(stamps)
    started_at: dict[str | None, int] = {}
    for i, r in enumerate(recorded):
        if r.name == "SessionStarted":
            started_at[r.session_id] = r.timestamp
        elif r.name == "SessionFinished":
            assert started_at[r.session_id] <= r.timestamp
            assert all(r.timestamp <= later.timestamp for later in recorded[i + 1 :])
    # every SessionStarted is followed by exactly one SessionFinished before the next one
    open_session = None
    for r in recorded:
        if r.name == "SessionStarted":
            assert open_session is None
            open_session = r.session_id
        elif r.name == "SessionFinished":
            assert r.session_id == open_session
            open_session = None
        else:
            assert r.session_id == open_session
    assert (open_session is None) == (not d.state.session.in_session)
