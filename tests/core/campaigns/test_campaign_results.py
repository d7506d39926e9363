"""Results arithmetic: Wilson intervals, lift and its interval, verdicts, the day axis."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tidings.core.campaigns import (
    build_results,
    day_range,
    lift,
    lift_interval,
    results_csv_rows,
    wilson_interval,
)

counts = st.integers(0, 10**6).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n)))


@given(counts)
def test_the_wilson_interval_holds_the_rate_inside_0_1(pair: tuple[int, int]) -> None:
    x, n = pair
    interval = wilson_interval(x, n)
    if n == 0:
        assert interval is None
        return
    assert interval is not None
    low, high = interval
    assert 0 <= low <= x / n + 1e-12 and x / n - 1e-12 <= high <= 1
    assert low < high


def test_wilson_matches_a_textbook_value() -> None:
    # 81 of 263 (the classic example): 0.2553 to 0.3662 at 95%.
    low, high = wilson_interval(81, 263) or (0, 0)
    assert round(low, 4) == 0.2553 and round(high, 4) == 0.3662


@given(counts, st.integers(1, 1000))
def test_more_trials_at_the_same_rate_narrow_the_interval(pair: tuple[int, int], k: int) -> None:
    x, n = pair
    assume(n > 0)
    a, b = wilson_interval(x, n) or (0, 0), wilson_interval(x * (k + 1), n * (k + 1)) or (0, 0)
    assert b[1] - b[0] <= a[1] - a[0] + 1e-12


@given(counts, counts)
def test_the_lift_interval_holds_the_lift(t: tuple[int, int], c: tuple[int, int]) -> None:
    value = lift(t[0], t[1], c[0], c[1])
    interval = lift_interval(t[0], t[1], c[0], c[1])
    if c[0] == 0 or t[1] == 0:
        assert value is None and interval is None
        return
    assert value is not None
    if t[0] == 0:
        assert interval is None
        return
    assert interval is not None
    assert -1 <= interval[0] <= value + 1e-9 and value - 1e-9 <= interval[1]


def test_lift_matches_the_log_ratio_formula() -> None:
    value = lift(30, 100, 20, 100)
    assert value == pytest.approx(0.5)
    low, high = lift_interval(30, 100, 20, 100) or (0, 0)
    se = math.sqrt(1 / 30 - 1 / 100 + 1 / 20 - 1 / 100)
    assert low == pytest.approx(1.5 * math.exp(-1.959963984540054 * se) - 1)
    assert high == pytest.approx(1.5 * math.exp(1.959963984540054 * se) - 1)


def test_a_verdict_only_when_the_interval_excludes_zero() -> None:
    days = day_range("2026-01-01", "2026-01-03")
    clear = build_results(
        "c1",
        ["Purchase"],
        ["A", "B"],
        days,
        exposures=[
            ("2026-01-01", "A", 1000),
            ("2026-01-01", "B", 1000),
            ("2026-01-02", None, 1000),
        ],
        conversions=[
            ("2026-01-01", "A", 0, 300, 4),
            ("2026-01-01", "B", 0, 110, 0),
            ("2026-01-02", None, 0, 100, 0),
        ],
    )
    a, b, control = clear.groups
    assert (a.treatment_id, b.treatment_id, control.treatment_id) == ("A", "B", None)
    assert a.goals[0].verdict.startswith("Treatment A converts to Purchase better")
    assert b.goals[0].verdict == "" and control.goals[0].verdict == ""
    assert a.goals[0].repeats == 4 and a.goals[0].rate == pytest.approx(0.3)
    assert [d.day for d in clear.by_day] == days
    assert clear.by_day[2].groups == (("A", 0, (0,)), ("B", 0, (0,)), (None, 0, (0,)))


@given(
    st.lists(
        st.tuples(st.integers(0, 9), st.sampled_from(["A", "B", None]), st.integers(0, 50)),
        max_size=30,
    )
)
def test_totals_are_the_sum_of_the_days_in_range(rows: list[tuple[int, str | None, int]]) -> None:
    days = day_range("2026-03-01", "2026-03-05")
    exposures = [(f"2026-03-{d + 1:02d}", g, n) for d, g, n in rows]
    result = build_results("c", ["E"], ["A", "B"], days, exposures=exposures, conversions=[])
    for group in result.groups:
        expected = sum(n for d, g, n in rows if g == group.treatment_id and d < 5)
        assert group.exposed == expected
        assert group.exposed == sum(
            e for day in result.by_day for t, e, _ in day.groups if t == group.treatment_id
        )
    csv_rows = results_csv_rows(result)
    assert len(csv_rows) == 1 + 5 * 3


def test_day_range_is_bounded_and_ordered() -> None:
    assert day_range("2026-02-27", "2026-03-01") == ["2026-02-27", "2026-02-28", "2026-03-01"]
    with pytest.raises(ValueError):
        day_range("2026-03-02", "2026-03-01")
    with pytest.raises(ValueError):
        day_range("2020-01-01", "2026-01-01")
    with pytest.raises(ValueError):
        day_range("2026-13-01", "2026-01-01")
