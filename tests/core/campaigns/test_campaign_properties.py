"""Property tests: caps hold over any event sequence, decisions are deterministic and survive a
state save/restore at any point, and holdout shares match ``holdoutPercent``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from campaign_builders import MIN, T0, campaign_json
from hypothesis import given, settings
from hypothesis import strategies as st

from tidings.core.campaigns import (
    CampaignEngine,
    EngineState,
    EvaluationContext,
    parse_campaign,
    parse_project_settings,
)
from tidings.core.campaigns.buckets import in_holdout
from tidings.core.events import EventRecord
from tidings.core.profile import DeviceProfile


@dataclass(frozen=True)
class Step:
    name: str
    plan: str
    gap_ms: int
    new_session: bool
    foreground: bool


steps_strategy = st.lists(
    st.builds(
        Step,
        name=st.sampled_from(["A", "B", "SessionStarted"]),
        plan=st.sampled_from(["x", "y"]),
        gap_ms=st.integers(0, 20 * MIN),
        new_session=st.booleans(),
        foreground=st.booleans() | st.just(True),
    ),
    max_size=60,
)

limit_strategy = st.one_of(
    st.fixed_dictionaries({"limit": st.integers(0, 3), "limitType": st.just("session")}),
    st.fixed_dictionaries({"limit": st.integers(0, 3), "limitType": st.just("device")}),
    st.fixed_dictionaries(
        {
            "limit": st.integers(1, 3),
            "limitType": st.just("device"),
            "interval": st.integers(1, 30),
            "intervalDimension": st.just("min"),
        }
    ),
    st.fixed_dictionaries({"count": st.integers(0, 4)}),
)

repeat_strategy = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {
            "repeatType": st.sampled_from(["every", "interval"]),
            "repeatEntity": st.just("event"),
            "repeatValue": st.lists(st.integers(1, 4), min_size=1, max_size=3),
        }
    ),
)


@st.composite
def campaign_sets(draw: st.DrawFn) -> list[dict[str, Any]]:
    out = []
    for i in range(draw(st.integers(1, 4))):
        params = [{"name": "plan", "value": "x"}] if draw(st.booleans()) else []
        out.append(
            campaign_json(
                f"c{i}",
                trigger=draw(st.sampled_from(["A", "B"])),
                params=params,
                limit=draw(st.none() | limit_strategy),
                repeat=draw(repeat_strategy),
                priority=draw(st.integers(0, 2)),
                createdAt=draw(st.integers(0, 3)),
                holdoutPercent=draw(st.sampled_from([0, 0, 50])),
            )
        )
    return out


project_strategy = st.none() | st.fixed_dictionaries(
    {
        "frequencyCapping": st.fixed_dictionaries(
            {"perSession": st.integers(0, 3), "perDay": st.integers(0, 5)}
        )
    }
)


def run(
    campaigns: list[dict[str, Any]],
    project: dict[str, Any] | None,
    steps: list[Step],
    restore_at: int | None = None,
) -> list[tuple[int, str, str, str, int]]:
    engine = CampaignEngine([parse_campaign(c) for c in campaigns], parse_project_settings(project))
    state = EngineState()
    now = T0
    session = 1
    out = []
    for index, step in enumerate(steps):
        if restore_at == index:
            state = EngineState.from_bytes(state.to_bytes())
        now += step.gap_ms
        if step.new_session:
            session += 1
        ctx = EvaluationContext(
            profile=DeviceProfile("dev", timezone="Europe/Warsaw"),
            user_id="user-7",
            session_id=f"s{session}",
            session_counter=session,
            foreground=step.foreground,
        )
        event_type = "system" if step.name == "SessionStarted" else "custom"
        event = EventRecord(
            f"e{index}",
            step.name,
            event_type,
            now,  # type: ignore[arg-type]
            f"s{session}",
            {"plan": step.plan},
        )
        out.extend(
            (index, d.campaign_id, d.status, d.treatment_id, session)
            for d in engine.process(event, ctx, state)
        )
    return out


@settings(max_examples=60, deadline=None)
@given(campaigns=campaign_sets(), project=project_strategy, steps=steps_strategy)
def test_capped_campaigns_never_exceed_their_caps(
    campaigns: list[dict[str, Any]], project: dict[str, Any] | None, steps: list[Step]
) -> None:
    engine_out = run(campaigns, project, steps)
    times = {}
    now = T0
    for index, step in enumerate(steps):
        now += step.gap_ms
        times[index] = now
    successes_by_event: dict[int, int] = {}
    for campaign in campaigns:
        shows = [
            (index, sess)
            for index, cid, status, _, sess in engine_out
            if cid == campaign["id"] and status == "SUCCESS"
        ]
        limit = campaign["triggering"].get("limit") or {}
        if "count" in limit:
            assert len(shows) <= limit["count"]
        if limit.get("limitType") == "session":
            per_session: dict[int, int] = {}
            for _, sess in shows:
                per_session[sess] = per_session.get(sess, 0) + 1
            assert all(n <= limit["limit"] for n in per_session.values())
        if limit.get("limitType") == "device" and "interval" not in limit:
            assert len(shows) <= limit["limit"]
        if "interval" in limit:
            window = limit["interval"] * MIN
            at = [times[index] for index, _ in shows]
            for t in at:
                assert sum(1 for u in at if t - window < u <= t) <= limit["limit"]
    for index, _, status, _, _ in engine_out:
        if status == "SUCCESS":
            successes_by_event[index] = successes_by_event.get(index, 0) + 1
    assert all(n == 1 for n in successes_by_event.values())
    if project is not None:
        per_session_cap = project["frequencyCapping"]["perSession"]
        counts: dict[int, int] = {}
        for _, _, status, _, sess in engine_out:
            if status == "SUCCESS":
                counts[sess] = counts.get(sess, 0) + 1
        assert all(n <= per_session_cap for n in counts.values())


@settings(max_examples=40, deadline=None)
@given(campaigns=campaign_sets(), project=project_strategy, steps=steps_strategy)
def test_decisions_are_deterministic(
    campaigns: list[dict[str, Any]], project: dict[str, Any] | None, steps: list[Step]
) -> None:
    assert run(campaigns, project, steps) == run(campaigns, project, steps)


@settings(max_examples=60, deadline=None)
@given(
    campaigns=campaign_sets(),
    project=project_strategy,
    steps=steps_strategy,
    cut=st.integers(0, 60),
)
def test_restoring_state_mid_sequence_changes_no_decision(
    campaigns: list[dict[str, Any]], project: dict[str, Any] | None, steps: list[Step], cut: int
) -> None:
    assert run(campaigns, project, steps, restore_at=cut) == run(campaigns, project, steps)


@settings(max_examples=25, deadline=None)
@given(
    percent=st.sampled_from([0, 1, 5, 10, 12.5, 33, 50, 90, 100]),
    campaign_id=st.text(min_size=1, max_size=12),
)
def test_holdout_share_matches_percent(percent: float, campaign_id: str) -> None:
    users = 4000
    held = sum(in_holdout(campaign_id, f"user-{i}", percent) for i in range(users))
    # binomial standard deviation is at most 0.79 % for 4000 users; allow ~4.5 sigma
    assert abs(held / users * 100 - percent) <= 3.5
