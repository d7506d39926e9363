"""Conversion goals: validated like the trigger, and the pure matching of events to exposures."""

from __future__ import annotations

from typing import Any

from campaign_builders import HOUR, T0, campaign_json
from hypothesis import given
from hypothesis import strategies as st

from tidings.core.campaigns import (
    CLOCK_TOLERANCE_MS,
    Exposure,
    attribution_key,
    conversions_of,
    exposure_of,
    parse_campaign,
    parse_conversions,
    validate_campaign,
)


def _goal(name: str = "Purchase", hours: Any = 24, **event: Any) -> dict[str, Any]:
    return {"event": {"name": name, "type": "custom", "params": [], **event}, "windowHours": hours}


def test_a_campaign_reads_its_goals_in_order() -> None:
    body = campaign_json("c1", conversions=[_goal("Purchase"), _goal("Signup", 2)])
    campaign = parse_campaign(body)
    assert [g.event.name for g in campaign.conversions] == ["Purchase", "Signup"]
    assert [g.index for g in campaign.conversions] == [0, 1]
    assert campaign.conversions[1].window_ms == 2 * HOUR
    assert parse_campaign(campaign_json("c2")).conversions == ()


def test_every_goal_problem_is_named_by_its_path() -> None:
    body = campaign_json(
        "c1",
        conversions=[
            _goal("Purchase"),
            {"event": {"type": "custom"}, "windowHours": 0},
            _goal("Buy", params=[{"name": "plan", "valueType": "number", "value": "x"}]),
        ],
    )
    fields = {e.field for e in validate_campaign(body)}
    assert fields == {
        "conversions[1].event.name",
        "conversions[1].windowHours",
        "conversions[2].event.params[0].value",
    }


def test_at_most_three_goals_and_a_list() -> None:
    too_many = campaign_json("c1", conversions=[_goal(f"E{i}") for i in range(4)])
    assert [e.field for e in validate_campaign(too_many)] == ["conversions"]
    not_a_list = campaign_json("c1", conversions={"event": {}})
    assert [e.field for e in validate_campaign(not_a_list)] == ["conversions"]


@given(st.one_of(st.none(), st.booleans(), st.integers(), st.text(), st.floats()))
def test_window_hours_is_checked_for_any_json_value(hours: Any) -> None:
    errors = validate_campaign(campaign_json("c1", conversions=[_goal("Buy", hours)]))
    valid = hours is None or (
        not isinstance(hours, bool) and isinstance(hours, int | float) and 0 < hours <= 24 * 90
    )
    assert (errors == []) == valid
    assert all(e.field == "conversions[0].windowHours" for e in errors)


def test_exposures_come_from_success_and_holdout_decisions_only() -> None:
    d = {"id": "d1", "campaignId": "c1", "status": "SUCCESS", "treatmentId": "A", "timestamp": T0}
    exposure = exposure_of("app", d, "dev1", "u1")
    assert exposure == Exposure("app", "c1", "d1", "d:dev1", "A", T0)
    held = exposure_of("app", {**d, "status": "HOLDOUT"}, None, "u1")
    assert held is not None and held.control and held.identity == "u:u1"
    assert exposure_of("app", {**d, "status": "DAILY_CAP"}, "dev1", None) is None
    assert exposure_of("app", d, None, None) is None
    plain = exposure_of("app", {**d, "treatmentId": None}, "dev1", None)
    assert plain is not None and plain.treatment_id == "0"


@given(
    decided=st.integers(0, 10**12),
    offset=st.integers(-10 * HOUR, 10 * HOUR),
    hours=st.integers(1, 9),
)
def test_an_event_converts_only_inside_the_window(decided: int, offset: int, hours: int) -> None:
    goals = parse_conversions([_goal("Buy", hours), _goal("Other", hours)])
    exposure = Exposure("app", "c1", "d1", attribution_key("dev", None) or "", "A", decided)
    found = conversions_of(
        "e1", "Buy", "custom", {}, decided + offset, exposures=[exposure], goals={"c1": goals}
    )
    inside = 0 <= offset < hours * HOUR
    assert [(c.goal, c.event_id) for c in found] == ([(0, "e1")] if inside else [])
    other_campaign = conversions_of(
        "e1", "Buy", "custom", {}, decided + offset, exposures=[exposure], goals={"c2": goals}
    )
    assert other_campaign == []


def test_goal_params_must_hold() -> None:
    params = [{"name": "plan", "value": "annual", "compareType": "===", "valueType": "string"}]
    goals = parse_conversions([_goal("Buy", 1, params=params)])
    exposure = Exposure("app", "c1", "d1", "d:dev", None, T0)
    hit = conversions_of(
        "e", "Buy", "custom", {"plan": "annual"}, T0, exposures=[exposure], goals={"c1": goals}
    )
    miss = conversions_of(
        "e", "Buy", "custom", {"plan": "monthly"}, T0, exposures=[exposure], goals={"c1": goals}
    )
    assert len(hit) == 1 and hit[0].exposure.control and miss == []


@given(
    offset=st.integers(-2 * CLOCK_TOLERANCE_MS, 1000),
    stored_after=st.booleans(),
)
def test_a_clock_tolerance_only_for_events_stored_after_the_decision(
    offset: int, stored_after: bool
) -> None:
    goals = parse_conversions([_goal("Buy", 1)])
    exposure = Exposure("app", "c1", "d1", "d:dev", "A", T0, seq=10)
    found = conversions_of(
        "e1",
        "Buy",
        "custom",
        {},
        T0 + offset,
        exposures=[exposure],
        goals={"c1": goals},
        seq=11 if stored_after else 9,
    )
    expected = offset >= 0 or (stored_after and offset >= -CLOCK_TOLERANCE_MS)
    assert bool(found) == expected


def test_the_triggering_event_never_converts_its_own_decision() -> None:
    goals = parse_conversions([_goal("Open", 1)])
    d = {"id": "d1", "campaignId": "c1", "status": "SUCCESS", "eventId": "e-open", "timestamp": T0}
    exposure = exposure_of("app", d, "dev", None, seq=4)
    assert exposure is not None and exposure.trigger_event_id == "e-open"
    own = conversions_of(
        "e-open", "Open", "custom", {}, T0, exposures=[exposure], goals={"c1": goals}
    )
    later = conversions_of(
        "e-2", "Open", "custom", {}, T0 + 1, exposures=[exposure], goals={"c1": goals}
    )
    assert own == [] and len(later) == 1
