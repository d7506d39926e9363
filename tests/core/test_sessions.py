"""The session state machine (docs/spec/events.md, "Sessions")."""

from __future__ import annotations

from itertools import count

import pytest

from tidings.core.sessions import SessionEnd, SessionMachine, SessionStart, SessionState

SEC = 1000


def ids():
    counter = count(1)
    return lambda now: f"s{next(counter)}"


def test_launch_starts_a_cold_session_and_counts_it() -> None:
    m = SessionMachine()
    assert m.launch(0, ids()) == [SessionStart("s1", 0, "cold", 1)]
    assert m.state.counter == 1
    assert m.state.foreground


def test_background_pauses_without_output() -> None:
    m = SessionMachine()
    m.launch(0, ids())
    assert m.background(10 * SEC) == []
    assert m.state.in_session
    assert not m.state.foreground


@pytest.mark.parametrize("gap", [0, 1, 30 * SEC, 60 * SEC - 1])
def test_short_background_trip_merges(gap: int) -> None:
    m = SessionMachine()
    new_id = ids()
    m.launch(0, new_id)
    m.background(10 * SEC)
    assert m.foreground(10 * SEC + gap, new_id) == []
    assert m.state.session_id == "s1"
    assert m.state.counter == 1


@pytest.mark.parametrize("gap", [60 * SEC, 61 * SEC, 3600 * SEC])
def test_long_trip_finishes_at_background_time_and_starts_warm(gap: int) -> None:
    m = SessionMachine()
    new_id = ids()
    m.launch(0, new_id)
    m.background(10 * SEC)
    assert m.foreground(10 * SEC + gap, new_id) == [
        SessionEnd("s1", 10 * SEC),
        SessionStart("s2", 10 * SEC + gap, "warm", 2),
    ]


def test_timeout_is_configurable() -> None:
    m = SessionMachine(timeout_ms=5 * SEC)
    new_id = ids()
    m.launch(0, new_id)
    m.background(1 * SEC)
    assert [type(c) for c in m.foreground(6 * SEC, new_id)] == [SessionEnd, SessionStart]


def test_negative_timeout_is_rejected() -> None:
    with pytest.raises(ValueError, match="sessionTimeout"):
        SessionMachine(timeout_ms=-1)


def test_events_while_backgrounded_do_not_move_the_finish_stamp() -> None:
    m = SessionMachine()
    new_id = ids()
    m.launch(0, new_id)
    m.background(10 * SEC)
    m.record(20 * SEC)
    assert m.state.event_count == 1
    assert m.foreground(200 * SEC, new_id)[0] == SessionEnd("s1", 10 * SEC)


def test_crash_after_background_events_finishes_at_the_last_event() -> None:
    m = SessionMachine()
    new_id = ids()
    m.launch(0, new_id)
    m.background(10 * SEC)
    m.record(20 * SEC)
    assert m.launch(500 * SEC, new_id)[0] == SessionEnd("s1", 20 * SEC)


def test_terminate_while_active_finishes_now() -> None:
    m = SessionMachine()
    m.launch(0, ids())
    assert m.terminate(30 * SEC) == [SessionEnd("s1", 30 * SEC)]
    assert not m.state.in_session
    assert m.terminate(40 * SEC) == []


def test_terminate_while_paused_finishes_at_the_background_moment() -> None:
    m = SessionMachine()
    m.launch(0, ids())
    m.background(10 * SEC)
    m.record(20 * SEC)
    assert m.terminate(30 * SEC) == [SessionEnd("s1", 10 * SEC)]


def test_crash_recovery_finishes_leftover_session_at_last_activity() -> None:
    m = SessionMachine()
    new_id = ids()
    m.launch(0, new_id)
    m.record(7 * SEC)
    # The process dies; a new one starts from the persisted state.
    restored = SessionMachine(SessionState.from_json(m.state.to_json()))
    assert restored.launch(100 * SEC, new_id) == [
        SessionEnd("s1", 7 * SEC),
        SessionStart("s2", 100 * SEC, "cold", 2),
    ]


def test_counter_persists_across_launches() -> None:
    m = SessionMachine()
    new_id = ids()
    m.launch(0, new_id)
    m.terminate(1)
    again = SessionMachine(SessionState.from_json(m.state.to_json()))
    assert again.launch(5, new_id)[-1].counter == 2


def test_foreground_and_background_are_idempotent() -> None:
    m = SessionMachine()
    new_id = ids()
    m.launch(0, new_id)
    assert m.foreground(1, new_id) == []
    m.background(2)
    m.background(50 * SEC)
    # the pause began at the first background call
    assert [type(c) for c in m.foreground(62 * SEC, new_id)] == [SessionEnd, SessionStart]
