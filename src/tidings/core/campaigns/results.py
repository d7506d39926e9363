"""Campaign results: conversion rates with 95% intervals and lift against the control group.

Pure arithmetic over counts the store keeps; nothing here reads a clock or a database.

* A **group** is a treatment (its id) or the control group (HOLDOUT decisions, ``None``).
* **Exposed** counts decisions (SUCCESS for a treatment, HOLDOUT for control) made on the days of
  the range; **converted** counts those of them with at least one conversion of a goal (the
  first counts, later ones are **repeats**). Conversions are credited to the day of the decision
  they convert, so a day's rate is the rate of that day's exposures.
* A rate's interval is the **Wilson score interval**, sound at small counts and at rates near 0
  or 1 where the normal approximation is not.
* **Lift** is relative: ``rate / control rate - 1``; its interval is the Katz log interval of the
  ratio of two proportions. It is undefined while either group has no conversion.
* A **verdict** in plain words is given only when the lift interval excludes 0.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Final

Z_95: Final = 1.959963984540054
"""The two-sided 95% normal quantile."""
MAX_RANGE_DAYS: Final = 366
"""The longest range results are given for (the day axis is bounded)."""

Interval = tuple[float, float]


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> Interval | None:
    """The Wilson score interval of ``successes / trials`` (``None`` when ``trials`` is 0)."""
    if trials <= 0:
        return None
    if not 0 <= successes <= trials:
        raise ValueError("successes must be between 0 and trials")
    p = successes / trials
    z2 = z * z
    denominator = 1 + z2 / trials
    centre = (p + z2 / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


def lift(
    converted: int, exposed: int, control_converted: int, control_exposed: int
) -> float | None:
    """Relative lift of a group's rate over the control rate (``None`` when undefined)."""
    if exposed <= 0 or control_exposed <= 0 or control_converted <= 0:
        return None
    return (converted / exposed) / (control_converted / control_exposed) - 1


def lift_interval(
    converted: int,
    exposed: int,
    control_converted: int,
    control_exposed: int,
    z: float = Z_95,
) -> Interval | None:
    """The Katz log interval of the relative lift (``None`` while a group has no conversion)."""
    if converted <= 0 or control_converted <= 0 or exposed <= 0 or control_exposed <= 0:
        return None
    ratio = (converted / exposed) / (control_converted / control_exposed)
    se = math.sqrt(1 / converted - 1 / exposed + 1 / control_converted - 1 / control_exposed)
    log_ratio = math.log(ratio)
    return (math.exp(log_ratio - z * se) - 1, math.exp(log_ratio + z * se) - 1)


def percent(value: float) -> str:
    """A signed percentage with one decimal: ``+12.5%``."""
    return f"{value * 100:+.1f}%"


def verdict(label: str, goal: str, lift_value: float | None, interval: Interval | None) -> str:
    """Plain words when the interval excludes 0, else ``""``: no claim without the evidence."""
    if lift_value is None or interval is None:
        return ""
    low, high = interval
    span = f"{percent(low)} to {percent(high)}"
    if low > 0:
        return (
            f"{label} converts to {goal} better than the control group: "
            f"{percent(lift_value)} (95% interval {span})."
        )
    if high < 0:
        return (
            f"{label} converts to {goal} worse than the control group: "
            f"{percent(lift_value)} (95% interval {span})."
        )
    return ""


def day_range(first: str, last: str) -> list[str]:
    """Every ``YYYY-MM-DD`` from ``first`` to ``last`` inclusive (raises ``ValueError`` for a
    malformed day, a reversed range or one longer than :data:`MAX_RANGE_DAYS`)."""
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    count = (end - start).days + 1
    if count <= 0:
        raise ValueError("the range ends before it starts")
    if count > MAX_RANGE_DAYS:
        raise ValueError(f"the range is longer than {MAX_RANGE_DAYS} days")
    return [(start + timedelta(days=n)).isoformat() for n in range(count)]


@dataclass(frozen=True, slots=True)
class GoalResult:
    """One goal's numbers for one group."""

    goal: int
    converted: int
    repeats: int
    rate: float | None
    interval: Interval | None
    lift: float | None = None
    lift_interval: Interval | None = None
    verdict: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "goal": self.goal,
            "converted": self.converted,
            "repeats": self.repeats,
            "rate": self.rate,
            "interval": list(self.interval) if self.interval else None,
            "lift": self.lift,
            "liftInterval": list(self.lift_interval) if self.lift_interval else None,
            "verdict": self.verdict,
        }


@dataclass(frozen=True, slots=True)
class GroupResult:
    """A treatment's (``treatment_id``) or the control group's (``None``) numbers."""

    treatment_id: str | None
    exposed: int
    goals: tuple[GoalResult, ...]

    @property
    def label(self) -> str:
        return "Control" if self.treatment_id is None else f"Treatment {self.treatment_id}"

    def to_json(self) -> dict[str, Any]:
        return {
            "group": "control" if self.treatment_id is None else "treatment",
            "treatmentId": self.treatment_id,
            "label": self.label,
            "exposed": self.exposed,
            "goals": [g.to_json() for g in self.goals],
        }


@dataclass(frozen=True, slots=True)
class DayResult:
    """One day of the axis: per group, exposed and converted per goal (zeros on empty days)."""

    day: str
    groups: tuple[tuple[str | None, int, tuple[int, ...]], ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "day": self.day,
            "groups": [
                {"treatmentId": t, "exposed": e, "converted": list(c)} for t, e, c in self.groups
            ],
        }


@dataclass(frozen=True, slots=True)
class Results:
    """A campaign's results over ``days`` (every day of the range, in order)."""

    campaign_id: str
    goals: tuple[str, ...]
    days: tuple[str, ...]
    groups: tuple[GroupResult, ...]
    by_day: tuple[DayResult, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {
            "campaignId": self.campaign_id,
            "from": self.days[0] if self.days else None,
            "to": self.days[-1] if self.days else None,
            "goals": list(self.goals),
            "groups": [g.to_json() for g in self.groups],
            "byDay": [d.to_json() for d in self.by_day],
        }


ExposureRow = tuple[str, str | None, int]
"""``(day, treatment id or None for control, exposures)``."""
ConversionRow = tuple[str, str | None, int, int, int]
"""``(day of the exposure, treatment id or None, goal index, first conversions, repeats)``."""


def _group_order(treatments: Sequence[str], seen: Iterable[str | None]) -> list[str | None]:
    """The campaign's treatments in its order, then any other treatment seen (an edited
    campaign's old arm), then control last."""
    out: list[str | None] = list(dict.fromkeys(treatments))
    for key in sorted({s for s in seen if s is not None} - set(treatments)):
        out.append(key)
    out.append(None)
    return out


def build_results(
    campaign_id: str,
    goals: Sequence[str],
    treatments: Sequence[str],
    days: Sequence[str],
    *,
    exposures: Iterable[ExposureRow],
    conversions: Iterable[ConversionRow],
) -> Results:
    """Fold the store's per-day counts into totals, intervals, lifts and the day axis.

    ``goals`` names each goal (its event name) in order; ``treatments`` are the campaign's
    treatment ids (``["0"]`` for a campaign without treatments). Rows outside ``days`` are left
    out; days without rows are zeros.
    """
    wanted = set(days)
    exposed: dict[tuple[str, str | None], int] = {}
    converted: dict[tuple[str, str | None, int], tuple[int, int]] = {}
    for day, group, count in exposures:
        if day in wanted:
            exposed[(day, group)] = exposed.get((day, group), 0) + int(count)
    for day, group, goal, first, repeats in conversions:
        if day in wanted and 0 <= goal < len(goals):
            old = converted.get((day, group, goal), (0, 0))
            converted[(day, group, goal)] = (old[0] + int(first), old[1] + int(repeats))
    order = _group_order(treatments, [g for _, g in exposed] + [g for _, g, _ in converted])
    totals: dict[str | None, tuple[int, list[int], list[int]]] = {
        g: (0, [0] * len(goals), [0] * len(goals)) for g in order
    }
    for (_, group), count in exposed.items():
        n, c, r = totals[group]
        totals[group] = (n + count, c, r)
    for (_, group, goal), (first, repeats) in converted.items():
        totals[group][1][goal] += first
        totals[group][2][goal] += repeats
    control_n, control_c, _ = totals[None]
    groups: list[GroupResult] = []
    for group in order:
        n, conv, reps = totals[group]
        results: list[GoalResult] = []
        for goal in range(len(goals)):
            x = conv[goal]
            rate = x / n if n else None
            entry = GoalResult(goal, x, reps[goal], rate, wilson_interval(x, n))
            if group is not None:
                lv = lift(x, n, control_c[goal], control_n)
                li = lift_interval(x, n, control_c[goal], control_n)
                label = f"Treatment {group}"
                entry = GoalResult(
                    goal,
                    x,
                    reps[goal],
                    rate,
                    entry.interval,
                    lv,
                    li,
                    verdict(label, goals[goal], lv, li),
                )
            results.append(entry)
        groups.append(GroupResult(group, n, tuple(results)))
    by_day = tuple(
        DayResult(
            day,
            tuple(
                (
                    group,
                    exposed.get((day, group), 0),
                    tuple(converted.get((day, group, g), (0, 0))[0] for g in range(len(goals))),
                )
                for group in order
            ),
        )
        for day in days
    )
    return Results(campaign_id, tuple(goals), tuple(days), tuple(groups), by_day)


def results_csv_rows(results: Results) -> list[list[str]]:
    """The CSV export: a header, then one row per day, group and goal (every day, zeros too)."""
    rows = [["day", "group", "treatment_id", "goal", "exposed", "converted", "rate"]]
    for day in results.by_day:
        for group, n, conv in day.groups:
            for goal, name in enumerate(results.goals):
                x = conv[goal]
                rows.append(
                    [
                        day.day,
                        "control" if group is None else "treatment",
                        "" if group is None else group,
                        name,
                        str(n),
                        str(x),
                        f"{x / n:.6f}" if n else "",
                    ]
                )
    return rows
