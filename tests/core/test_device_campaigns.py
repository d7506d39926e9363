"""How campaign decisions interleave with recorded events on the device."""

from __future__ import annotations

import random

from tidings.core.campaigns import CampaignEngine, Decision, parse_campaign
from tidings.core.device import Device, DeviceState
from tidings.core.events import EventRecord
from tidings.core.ids import IdFactory
from tidings.core.profile import DeviceProfile


def campaign(
    cid: str,
    trigger: str,
    *,
    kind: str = "DeepLink",
    ttype: str = "custom",
    priority: int = 0,
    created: int = 0,
) -> dict:
    doc = {
        "id": cid,
        "name": f"Campaign {cid}",
        "type": kind,
        "state": "Active",
        "priority": priority,
        "createdAt": created,
        "triggering": {"event": {"name": trigger, "type": ttype, "params": []}},
        "targeting": [],
    }
    if kind == "DeepLink":
        doc["content"] = {"url": f"app://{cid}"}
    return doc


def device(*docs: dict, state: DeviceState | None = None) -> Device:
    engine = CampaignEngine([parse_campaign(d) for d in docs])
    return Device(
        DeviceProfile(device_id="d-1"),
        IdFactory(random.Random(1).randbytes),
        campaigns=engine,
        state=state,
    )


def shape(outputs: list) -> list[str]:
    out = []
    for o in outputs:
        if isinstance(o, Decision):
            out.append(f"decision:{o.campaign_id}:{o.status}")
        else:
            assert isinstance(o, EventRecord)
            out.append(o.name)
    return out


def test_track_order_event_mirror_then_outcomes() -> None:
    d = device(campaign("on-buy", "Buy"), campaign("on-mirror", "EventTriggered", ttype="system"))
    d.launch(0)
    out = d.track("Buy", None, 10)
    assert shape(out) == [
        "Buy",
        "EventTriggered",
        "decision:on-buy:SUCCESS",
        "CampaignShown",
        "decision:on-mirror:SUCCESS",
        "CampaignShown",
    ]
    shown = [o for o in out if isinstance(o, EventRecord) and o.name == "CampaignShown"]
    assert shown[0].properties == {"source": "Buy", "campaignId": "on-buy"}
    assert shown[1].properties == {"source": "EventTriggered", "campaignId": "on-mirror"}
    assert out[2].event_id == out[0].id


def test_one_success_per_event_others_lower_priority_in_rank_order() -> None:
    d = device(
        campaign("newer", "Buy", priority=1, created=10),
        campaign("high", "Buy", priority=5, created=20),
        campaign("older", "Buy", priority=1, created=0),
    )
    d.launch(0)
    out = d.track("Buy", None, 10)
    assert [o.campaign_id for o in out if isinstance(o, Decision)] == ["high", "older", "newer"]
    assert [o.status for o in out if isinstance(o, Decision)] == [
        "SUCCESS",
        "LOWER_PRIORITY",
        "LOWER_PRIORITY",
    ]
    assert shape(out) == [
        "Buy",
        "EventTriggered",
        "decision:high:SUCCESS",
        "decision:older:LOWER_PRIORITY",
        "decision:newer:LOWER_PRIORITY",
        "CampaignShown",
    ]


def test_session_started_can_trigger() -> None:
    """(A ``SessionFinished`` trigger is refused by validation: that session has no surface.)"""
    d = device(campaign("hello", "SessionStarted", ttype="system"))
    out = d.launch(0)
    assert shape(out) == [
        "SessionStarted",
        "decision:hello:SUCCESS",
        "CampaignShown",
        "SdkInitialized",
    ]
    assert shape(d.terminate(5)) == ["SessionFinished"]


def test_backgrounded_events_are_counted_but_never_trigger() -> None:
    d = device(campaign("c", "Buy"))
    d.launch(0)
    d.background(5)
    assert shape(d.track("Buy", None, 6)) == ["Buy", "EventTriggered"]
    d.foreground(7)
    assert d.snapshot("@triggeredEvent", 7, eventName="Buy") == {"count": 1}
    assert "decision:c:SUCCESS" in shape(d.track("Buy", None, 8))


def test_property_change_outcomes_follow_the_change() -> None:
    d = device(campaign("p", "CustomPropertyChanged", ttype="system"))
    d.launch(0)
    assert shape(d.set_custom_property("k", 1, 5)) == [
        "CustomPropertyChanged",
        "decision:p:SUCCESS",
        "CampaignShown",
    ]


def test_rate_review_without_handler_resolves_skipped() -> None:
    d = device(campaign("rr", "Buy", kind="RateReview"))
    d.launch(0)
    out = d.track("Buy", None, 10)
    assert shape(out)[-3:] == ["decision:rr:SUCCESS", "CampaignShown", "CampaignResolved"]
    assert out[-1].properties == {"campaignId": "rr", "result": "SkippedNoPresenter"}
    d.has_rate_review_handler = True
    assert shape(d.track("Buy", None, 20))[-1] == "CampaignShown"


def test_campaign_resolved_and_shown_never_trigger() -> None:
    d = device(
        campaign("r", "CampaignResolved", ttype="system"),
        campaign("s", "CampaignShown", ttype="system"),
        campaign("c", "Buy"),
    )
    d.launch(0)
    assert "decision:s:SUCCESS" not in shape(d.track("Buy", None, 1))
    assert shape(d.campaign_resolved("c", "Completed", None, 2)) == ["CampaignResolved"]


def test_engine_state_survives_restart() -> None:
    doc = campaign("every2", "Buy")
    doc["triggering"]["repeat"] = {
        "repeatType": "every",
        "repeatEntity": "event",
        "repeatValue": [2],
    }
    d = device(doc)
    d.launch(0)
    assert "decision:every2:SUCCESS" not in shape(d.track("Buy", None, 1))
    restored = device(doc, state=DeviceState.from_json(d.state.to_json()))
    restored.launch(10)
    assert "decision:every2:SUCCESS" in shape(restored.track("Buy", None, 11))
