"""Time windows: every integer is judged, and a refusal always says why in one line."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tidings.core.bounds import TimeWindow

_ANY_MS = st.integers(-(2**63), 2**63 - 1)


@given(_ANY_MS, _ANY_MS, _ANY_MS)
def test_a_window_judges_any_time_without_failing(a: int, b: int, ms: int) -> None:
    window = TimeWindow(min(a, b), max(a, b))
    reason = window.error(ms)
    if window.earliest <= ms <= window.latest:
        assert reason is None
    else:
        assert reason is not None and str(ms) in reason and "\n" not in reason


def test_a_refusal_names_both_bounds_with_their_dates() -> None:
    reason = TimeWindow(946_684_800_000, 1_798_761_600_000).error(0)
    assert reason == (
        "must be epoch milliseconds from 946684800000 (2000-01-01T00:00:00.000Z) to"
        " 1798761600000 (2027-01-01T00:00:00.000Z); got 0"
    )


def test_a_bound_past_the_calendar_is_shown_as_a_number() -> None:
    reason = TimeWindow(0, 2**53 - 1).error(2**60)
    assert reason == (
        f"must be epoch milliseconds from 0 (1970-01-01T00:00:00.000Z) to {2**53 - 1}; got {2**60}"
    )
