"""Decisions for one event: rank order, precedence, statuses, and the state the engine keeps."""

from __future__ import annotations

import json

import pytest
from campaign_builders import HOUR, T0, Device, campaign_json

from tidings.core.campaigns import CampaignEngine, EngineState, EventFilter, parse_campaign
from tidings.core.campaigns.trigger import parse_data_set_params
from tidings.core.errors import InvalidInput
from tidings.core.profile import DeviceProfile


def test_rank_priority_then_created_then_id() -> None:
    device = Device(
        [
            campaign_json("b", createdAt=5),
            campaign_json("a", createdAt=5),
            campaign_json("old", createdAt=1),
            campaign_json("low", priority=-1),
            campaign_json("top", priority=3, createdAt=99),
        ]
    )
    assert device.statuses() == [
        ("top", "SUCCESS"),
        ("old", "LOWER_PRIORITY"),
        ("a", "LOWER_PRIORITY"),
        ("b", "LOWER_PRIORITY"),
        ("low", "LOWER_PRIORITY"),
    ]


def test_decisions_listed_in_rank_order_whatever_their_status() -> None:
    device = Device(
        [
            campaign_json("expired", priority=9, schedule={"endTime": T0}),
            campaign_json("held", priority=8, holdoutPercent=100),
            campaign_json("winner", priority=1),
            campaign_json("capped", priority=5, limit={"count": 0}),
        ]
    )
    assert device.statuses() == [
        ("expired", "EXPIRED"),
        ("held", "HOLDOUT"),
        ("capped", "CAMPAIGN_CAP"),
        ("winner", "SUCCESS"),
    ]


def test_one_success_per_event_and_lower_priority_not_capped_by_winner() -> None:
    device = Device(
        [campaign_json("a", priority=2), campaign_json("b", priority=1)],
        project={"frequencyCapping": {"perSession": 1}},
    )
    assert device.statuses() == [("a", "SUCCESS"), ("b", "LOWER_PRIORITY")]
    assert device.statuses() == [("a", "SESSION_CAP"), ("b", "SESSION_CAP")]


@pytest.mark.parametrize(
    ("extra", "limit", "expected"),
    [
        ({"schedule": {"endTime": T0}, "holdoutPercent": 100}, {"count": 0}, "EXPIRED"),
        (
            {"holdoutPercent": 100, "quietTime": {"start": "00:00", "end": "23:59"}},
            {"count": 0},
            "HOLDOUT",
        ),
        ({"quietTime": {"start": "00:00", "end": "23:59"}}, {"count": 0}, "QUIET_TIME"),
        ({}, {"count": 0}, "CAMPAIGN_CAP"),
        ({}, {"limit": 0, "limitType": "session"}, "SESSION_CAP"),
    ],
)
def test_precedence(extra: dict[str, object], limit: dict[str, object], expected: str) -> None:
    device = Device(
        [campaign_json(limit=limit, **extra)],
        profile=DeviceProfile("d", timezone="UTC"),
        project={"frequencyCapping": {"perDay": 0}},
    )
    assert device.statuses() == [("c1", expected)]


def test_project_cap_applies_after_campaign_limits() -> None:
    device = Device([campaign_json()], project={"frequencyCapping": {"perDay": 0}})
    assert device.statuses() == [("c1", "DAILY_CAP")]


def test_decision_fields() -> None:
    device = Device([campaign_json()])
    decision = device.emit("Purchase", {"x": 1})[0]
    assert decision.to_json() == {
        "campaignId": "c1",
        "status": "SUCCESS",
        "treatmentId": "0",
        "source": "Purchase",
        "eventId": "e1",
    }
    assert decision.campaign.id == "c1"
    assert decision.content == {"url": "app://c1"}
    with pytest.raises(AttributeError):
        decision.status = "HOLDOUT"  # type: ignore[misc]


def test_no_evaluation_while_backgrounded() -> None:
    device = Device([campaign_json()])
    device.set(foreground=False)
    assert device.emit("Purchase") == []
    assert device.state.count_of(("Purchase", "custom", ())) == 1


@pytest.mark.parametrize("name", ["CampaignShown", "CampaignResolved"])
def test_shown_and_resolved_never_trigger(name: str) -> None:
    device = Device([campaign_json(trigger=name, trigger_type="system")])
    assert device.emit(name, {"campaignId": "c1"}, event_type="system") == []
    assert device.state.event_aggregate(name, "system") is not None


def test_only_active_campaigns_take_part() -> None:
    engine = CampaignEngine(
        [
            parse_campaign(campaign_json("d", state="Draft")),
            parse_campaign(campaign_json("x", state="Cancel")),
            parse_campaign(campaign_json("a")),
        ]
    )
    assert [c.id for c in engine.campaigns] == ["a"]
    device = Device([campaign_json("d", state="Draft"), campaign_json("a")])
    assert device.statuses() == [("a", "SUCCESS")]


def test_unmatched_event_gives_nothing_but_is_recorded() -> None:
    device = Device([campaign_json(trigger=f"T{i}") for i in range(50)])
    assert device.emit("Other") == []
    assert device.state.event_aggregate("Other", "custom") == (1, T0 + 1000, T0 + 1000)


def test_event_aggregates_and_session_counts_for_data_sets() -> None:
    params = [{"name": "plan", "value": "annual"}]
    device = Device([campaign_json(params=params)])
    device.emit("Purchase", {"plan": "annual"})
    device.emit("Purchase", {"plan": "monthly"})
    device.new_session()
    device.emit("Purchase", {"plan": "annual"})
    state = device.state
    plain = state.event_aggregate("Purchase", "custom")
    assert plain is not None and plain[0] == 3
    annual = state.event_aggregate("Purchase", "custom", params)
    assert annual is not None and annual[0] == 2 and annual[1] == T0 + 1000
    assert state.session_event_count("Purchase", "custom") == 1
    assert state.session_event_count("Purchase", "custom", params) == 1
    assert state.event_aggregate("Never", "custom") is None
    # an unwatched params filter reads as never happened
    assert state.event_aggregate("Purchase", "custom", [{"name": "plan", "value": "x"}]) is None


def test_watch_adds_data_set_filters() -> None:
    watch: list[EventFilter] = [
        parse_data_set_params("Purchase", "custom", [{"name": "amount", "value": 5}])
    ]
    engine = CampaignEngine([], watch=watch)
    device = Device([])
    device.engine = engine
    device.emit("Purchase", {"amount": 5})
    device.emit("Purchase", {"amount": "5"})
    device.emit("Purchase", {"amount": 6})
    assert (
        device.state.event_aggregate("Purchase", "custom", [{"name": "amount", "value": 5}])[0] == 2
    )  # type: ignore[index]


def test_history_counts_system_events_and_shown() -> None:
    targeting = [
        {
            "eventCount": {
                "event": {"name": "CampaignShown", "type": "system"},
                "compareType": "less",
                "value": 1,
            }
        }
    ]
    device = Device([campaign_json(targeting=targeting)])
    assert device.fired()
    device.emit("CampaignShown", {"source": "Purchase", "campaignId": "c1"}, event_type="system")
    assert device.emit("Purchase") == []


def test_state_round_trip_bytes_and_json() -> None:
    device = Device(
        [
            campaign_json(
                limit={
                    "limit": 2,
                    "limitType": "device",
                    "interval": 1,
                    "intervalDimension": "hour",
                },
                params=[{"name": "p", "value": "1"}],
            )
        ],
        project={"frequencyCapping": {"perDay": 5}},
    )
    device.emit("Purchase", {"p": "1"})
    device.emit("Purchase", {"p": "2"})
    restored = EngineState.from_bytes(device.state.to_bytes())
    assert restored == device.state
    assert EngineState.from_json(device.state.to_json()).to_json() == device.state.to_json()
    device.state = restored
    assert device.statuses("Purchase", {"p": "1"}) == [("c1", "SUCCESS")]
    assert device.statuses("Purchase", {"p": "1"}) == [("c1", "CAMPAIGN_CAP")]


def test_rolling_show_history_keeps_only_timestamps_in_window() -> None:
    device = Device(
        [
            campaign_json(
                limit={
                    "limit": 100,
                    "limitType": "device",
                    "interval": 1,
                    "intervalDimension": "hour",
                }
            )
        ]
    )
    for _ in range(5):
        device.emit("Purchase", after=HOUR // 2)
    assert len(device.state.shows["c1"][3]) == 2


@pytest.mark.parametrize("blob", [b"not json", b"[]", b'{"version": 99}', b'{"version": 1}'])
def test_bad_state_bytes(blob: bytes) -> None:
    with pytest.raises(InvalidInput):
        EngineState.from_bytes(blob)


def test_state_carries_over_to_a_new_configuration() -> None:
    repeat = {"repeatType": "interval", "repeatEntity": "event", "repeatValue": [3]}
    device = Device([campaign_json("old")])
    device.emit("Purchase")
    device.emit("Purchase")
    state = EngineState.from_json(json.loads(json.dumps(device.state.to_json())))
    fresh = Device([campaign_json("new", repeat=repeat)])
    fresh.state = state
    fresh.now = device.now
    assert fresh.statuses() == [("new", "SUCCESS")]  # the 3rd Purchase ever


def test_campaigns_with_different_params_on_one_trigger_count_separately() -> None:
    every2 = {"repeatType": "every", "repeatEntity": "event", "repeatValue": [2]}
    device = Device(
        [
            campaign_json("annual", params=[{"name": "plan", "value": "annual"}], repeat=every2),
            campaign_json("any", repeat=every2, priority=-1),
        ]
    )
    assert device.statuses("Purchase", {"plan": "annual"}) == []
    assert device.statuses("Purchase", {"plan": "monthly"}) == [("any", "SUCCESS")]
    assert device.statuses("Purchase", {"plan": "annual"}) == [("annual", "SUCCESS")]
    # 3rd annual purchase (odd) but 4th purchase overall (even)
    assert device.statuses("Purchase", {"plan": "annual"}) == [("any", "SUCCESS")]
