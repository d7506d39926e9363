"""Why a campaign made no decision: the first failed rule, from the engine's own predicates."""

from __future__ import annotations

import dataclasses
from typing import Any

from campaign_builders import DAY, HOUR, SEC, T0, Device, campaign_json
from hypothesis import given, settings
from hypothesis import strategies as st

from tidings.core.campaigns import (
    CampaignEngine,
    EngineState,
    EvaluationContext,
    Explanation,
    explain,
    parse_campaign,
    parse_project_settings,
    status_text,
)
from tidings.core.events import EventRecord
from tidings.core.profile import DeviceProfile
from tidings.core.scenario import parse_scenario
from tidings.core.simulation import Simulation, simulate


def _explained(device: Device, name: str = "Purchase", **kw: Any) -> dict[str, Explanation]:
    """Emit one event on the device and explain it right after, with the same state."""
    decisions = device.emit(name, kw.pop("properties", None), **kw)
    event = EventRecord(
        id=f"e{device.seq}",
        name=name,
        type=kw.get("event_type", "custom"),
        timestamp=device.now,
        session_id=device.ctx.session_id,
        properties={},
    )
    found = {e.campaign_id: e for e in explain(device.engine, event, device.ctx, device.state)}
    assert not found.keys() & {d.campaign_id for d in decisions}
    return found


def test_who_rule_is_named_by_its_position_and_label() -> None:
    targeting = [
        {"country": {"type": "include", "values": ["PL"]}},
        {"osVersion": {"compareType": "greaterOrEqual", "value": "17.0"}},
    ]
    profile = DeviceProfile("d1", os_version="16.4", country="PL")
    device = Device([campaign_json("c1", targeting=targeting)], profile=profile)
    why = _explained(device)["c1"]
    assert why.miss.rule == "who"
    assert why.miss.index == 1
    assert why.reason == "Who rule 2 (OS version) did not match"


def test_trigger_mismatch_names_the_trigger() -> None:
    device = Device([campaign_json("c1", trigger="Purchase")])
    why = _explained(device, "Signup")["c1"]
    assert why.miss.rule == "trigger"
    assert why.reason == "the trigger is Purchase (custom), not this event"


def test_trigger_param_names_the_failing_filter() -> None:
    params = [
        {"name": "plan", "compareType": "===", "valueType": "string", "value": "pro"},
        {"name": "total", "compareType": ">", "valueType": "number", "value": "10"},
    ]
    device = Device([campaign_json("c1", params=params)])
    decisions = device.emit("Purchase", {"plan": "pro", "total": 3})
    assert decisions == []
    event = EventRecord(
        id="x",
        name="Purchase",
        type="custom",
        timestamp=device.now,
        session_id="s1",
        properties={"plan": "pro", "total": 3},
    )
    (why,) = explain(device.engine, event, device.ctx, device.state)
    assert (why.miss.rule, why.miss.index) == ("trigger_param", 1)
    assert why.reason.startswith("trigger filter 2 (total > 10")


def test_repeat_rule_and_schedule_start() -> None:
    repeat = {"repeatType": "interval", "repeatEntity": "event", "repeatValue": [2]}
    device = Device(
        [
            campaign_json("second", repeat=repeat),
            campaign_json("later", schedule={"startTime": T0 + DAY}),
        ]
    )
    first = _explained(device)
    assert first["second"].miss.rule == "repeat"
    assert first["later"].reason == "the schedule has not started yet"
    assert "second" not in _explained(device)  # the second occurrence decides


def test_background_and_decided_campaigns() -> None:
    device = Device([campaign_json("c1", holdoutPercent=100)])
    assert _explained(device) == {}  # a HOLDOUT decision is a decision
    assert status_text("HOLDOUT") == "this device is in the holdout group"
    device.set(foreground=False)
    assert _explained(device)["c1"].miss.rule == "background"


_OS = st.sampled_from(["15.0", "16.4", "17.2", None])
_RULES = st.lists(
    st.sampled_from(
        [
            {"osVersion": {"compareType": "greaterOrEqual", "value": "16.0"}},
            {"country": {"type": "exclude", "values": ["DE"]}},
            {
                "customProperty": {
                    "key": "vip",
                    "compareType": "equal",
                    "valueType": "boolean",
                    "value": "true",
                }
            },
            {
                "eventCount": {
                    "event": {"name": "Purchase", "type": "custom"},
                    "compareType": "greaterOrEqual",
                    "value": 2,
                }
            },
            {
                "eventDate": {
                    "event": {"name": "Open", "type": "custom"},
                    "bound": "last",
                    "mode": "withinLastDays",
                    "relativeValue": 1,
                }
            },
        ]
    ),
    max_size=3,
)


@st.composite
def _campaign(draw: st.DrawFn, index: int) -> dict[str, Any]:
    extra: dict[str, Any] = {"priority": draw(st.integers(0, 2)), "createdAt": index}
    if draw(st.booleans()):
        extra["schedule"] = {"startTime": T0 + draw(st.integers(0, 4)) * HOUR}
    if draw(st.booleans()):
        extra["holdoutPercent"] = draw(st.sampled_from([0, 50, 100]))
    if draw(st.booleans()):
        extra["quietTime"] = {"start": "11:00", "end": "13:00"}
    params = None
    if draw(st.booleans()):
        params = [{"name": "plan", "compareType": "===", "valueType": "string", "value": "pro"}]
    repeat = None
    if draw(st.booleans()):
        repeat = {
            "repeatType": draw(st.sampled_from(["every", "interval"])),
            "repeatEntity": draw(st.sampled_from(["event", "session"])),
            "repeatValue": draw(st.lists(st.integers(1, 3), min_size=1, max_size=2)),
        }
    limit = draw(st.sampled_from([None, {"count": 1}, {"limit": 1, "limitType": "session"}]))
    return campaign_json(
        f"c{index}",
        draw(st.sampled_from(["Purchase", "Open"])),
        params=params,
        repeat=repeat,
        limit=limit,
        targeting=draw(_RULES),
        **extra,
    )


_EVENT = st.tuples(
    st.sampled_from(["Purchase", "Open", "Other"]),
    st.sampled_from([{}, {"plan": "pro"}, {"plan": "free"}]),
    st.booleans(),  # foreground
    st.integers(1, 2 * HOUR // SEC),  # seconds since the last event
    st.booleans(),  # a new session starts first
    st.booleans(),  # vip
)


@settings(max_examples=150, deadline=None)
@given(
    st.integers(1, 4).flatmap(lambda n: st.tuples(*(_campaign(i) for i in range(n)))),
    st.lists(_EVENT, min_size=1, max_size=12),
    _OS,
    st.sampled_from(["PL", "DE", None]),
    st.sampled_from([{"perSession": 1}, {"perDay": 2}, {}]),
)
def test_no_decision_always_has_a_reason_and_a_reason_means_no_decision(
    campaigns: tuple[dict[str, Any], ...],
    events: list[tuple[str, dict[str, Any], bool, int, bool, bool]],
    os_version: str | None,
    country: str | None,
    capping: dict[str, int],
) -> None:
    engine = CampaignEngine(
        [parse_campaign(c) for c in campaigns],
        parse_project_settings({"frequencyCapping": capping}),
    )
    ids = {c["id"] for c in campaigns}
    state = EngineState()
    profile = DeviceProfile("d1", os_version=os_version, country=country, timezone="UTC")
    ctx = EvaluationContext(profile=profile, session_id="s1", session_counter=1)
    now = T0
    for i, (name, props, foreground, gap, new_session, vip) in enumerate(events):
        now += gap * SEC
        if new_session:
            counter = ctx.session_counter + 1
            ctx = dataclasses.replace(ctx, session_id=f"s{counter}", session_counter=counter)
        ctx = dataclasses.replace(ctx, foreground=foreground, custom_properties={"vip": vip})
        event = EventRecord(f"e{i}", name, "custom", now, ctx.session_id, props)
        decided = {d.campaign_id for d in engine.process(event, ctx, state)}
        reasons = {e.campaign_id: e for e in explain(engine, event, ctx, state)}
        assert decided.isdisjoint(reasons)  # a reason only when the engine made no decision
        assert decided | reasons.keys() == ids  # and a reason whenever it made none
        for why in reasons.values():
            assert why.reason


def _scenario(campaign: dict[str, Any], *steps: dict[str, Any]) -> dict[str, Any]:
    return {
        "device": {"deviceId": "d1", "platform": "iOS", "osVersion": "16.0"},
        "campaigns": [campaign],
        "steps": [{"at": "2026-01-05T10:00:00Z", "do": "launch"}, *steps],
    }


def test_simulation_explains_only_when_asked_and_only_for_triggering_events() -> None:
    targeting = [{"osVersion": {"compareType": "greaterOrEqual", "value": "17.0"}}]
    doc = _scenario(
        campaign_json("c1", targeting=targeting),
        {"at": "+5s", "do": "track", "name": "Other"},
        {"at": "+5s", "do": "track", "name": "Purchase"},
    )
    plain = simulate(parse_scenario(doc))
    lines = list(Simulation(parse_scenario(doc), explain=True).run())
    whys = [line["noDecision"] for line in lines if "noDecision" in line]
    assert [line for line in lines if "noDecision" not in line] == plain
    assert len(whys) == 1
    assert whys[0]["source"] == "Purchase"
    assert whys[0]["campaignId"] == "c1"
    assert whys[0]["reason"] == "Who rule 1 (OS version) did not match"
    purchase = next(i for i, line in enumerate(lines) if line.get("name") == "Purchase")
    assert "noDecision" in lines[purchase + 1]
