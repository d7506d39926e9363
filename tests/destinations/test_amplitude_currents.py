"""Currents mode: Braze Currents naming and properties of exported events."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from tidings.core.campaigns import parse_campaign, pick_treatment
from tidings.core.errors import InvalidConfig
from tidings.core.events import EventRecord
from tidings.core.profile import DeviceProfile
from tidings.destinations import MessageContext, to_segment_message
from tidings.destinations.amplitude import Currents, Settings, currents_from_json
from tidings.destinations.amplitude.campaign_book import CampaignBook

DEVICE = DeviceProfile(
    device_id="device-123", platform="android", os_version="14", app_version="2.0"
)
BRAZE_DEVICE = {"platform": "android", "os_version": "14", "device_model": "Pixel 8"}
STARTED = 1_700_000_000_000
CAMPAIGN = {
    "id": "c1",
    "name": "Welcome",
    "type": "DeepLink",
    "triggering": {"event": {"name": "LevelUp", "type": "custom"}},
    "treatments": [
        {"id": "A", "sizePercent": 50, "content": {"url": "app://a"}},
        {"id": "B", "sizePercent": 50, "content": {"url": "app://b"}},
    ],
}


def msg(
    name: str,
    props: dict[str, Any],
    *,
    counter: int = 3,
    ts: int = STARTED + 60_000,
    kind: str = "custom",
    integrations: dict[str, Any] | None = None,
) -> dict[str, Any]:
    record = EventRecord(
        id=f"id-{name}", name=name, type=kind, timestamp=ts, session_id="s", properties=props
    )
    ctx = MessageContext(
        user_id="user-1",
        session_started_at=STARTED,
        session_counter=counter,
        device_model="Pixel 8",
    )
    out = to_segment_message(record, DEVICE, ctx)
    if integrations is not None:
        out["integrations"] = integrations
    return out


def decision(status: str, decision_id: str = "dec-1", **extra: Any) -> dict[str, Any]:
    """A decision as the server stores it (the upload's device and user beside it)."""
    return {
        "source": "sdk",
        "appId": "app-1",
        "device": {"deviceId": "device-123", "platform": "android", "osVersion": "14"},
        "userId": "user-1",
        "decision": {
            "id": decision_id,
            "campaignId": "c1",
            "status": status,
            "treatmentId": "B",
            "source": "LevelUp",
            "eventId": "e-1",
            "timestamp": STARTED + 30_000,
            **extra,
        },
    }


def with_book() -> Currents:
    currents = Currents()
    currents.book.load([("c1", CAMPAIGN)])
    return currents


def test_custom_event_names_and_properties() -> None:
    (event,) = Currents().events(msg("LevelUp", {"level": 3}), "app-1")
    assert event["event_type"] == "[Tidings] [Custom Event] LevelUp"
    assert event["event_properties"] == {
        "[Custom event property] level": 3,
        "app_id": "app-1",
        **BRAZE_DEVICE,
    }
    assert (event["user_id"], event["device_id"], event["insert_id"]) == (
        "user-1",
        "device-123",
        "id-LevelUp",
    )
    assert event["time"] == STARTED + 60_000
    assert event["session_id"] == STARTED


def test_prefix_is_configurable() -> None:
    (event,) = Currents(prefix="[Appboy]").events(msg("LevelUp", {}))
    assert event["event_type"] == "[Appboy] [Custom Event] LevelUp"


def test_purchase_by_the_purchase_conventions() -> None:
    props = {"price": 4.5, "quantity": 2, "sku": "gems", "currency": "USD"}
    (event,) = Currents().events(msg("PurchaseCompleted", props), "app-1")
    assert event["event_type"] == "[Tidings] Purchase"
    assert event["event_properties"] == {
        "product_id": "gems",
        "price": 4.5,
        "currency": "USD",
        "[Purchase property] price": 4.5,
        "[Purchase property] quantity": 2,
        "[Purchase property] sku": "gems",
        "[Purchase property] currency": "USD",
        "app_id": "app-1",
        **BRAZE_DEVICE,
    }
    assert (event["price"], event["quantity"], event["productId"]) == (4.5, 2, "gems")
    (custom,) = Currents().events(msg("Purchase", {"price": 1}))
    assert custom["event_type"] == "[Tidings] [Custom Event] Purchase"
    settings = Settings(purchase_events=frozenset({"Purchase"}))
    (configured,) = Currents(settings=settings).events(msg("Purchase", {"price": 1}))
    assert configured["event_type"] == "[Tidings] Purchase"


def test_sessions_carry_the_session_id_string() -> None:
    first, start = Currents().events(msg("SessionStarted", {"type": "cold"}, counter=1), "app-1")
    assert first["event_type"] == "[Tidings] First Session"
    assert start["event_type"] == "[Tidings] Session Start"
    assert first["insert_id"] != start["insert_id"]
    assert start["event_properties"] == {"session_id": "s", "app_id": "app-1", **BRAZE_DEVICE}
    assert start["session_id"] == STARTED  # Amplitude's own session: the start in ms
    assert [
        e["event_type"] for e in Currents().events(msg("SessionStarted", {"type": "warm"}))
    ] == ["[Tidings] Session Start"]
    (end,) = Currents().events(msg("SessionFinished", {}))
    assert end["event_type"] == "[Tidings] Session End"
    assert end["event_properties"] == {"session_id": "s", "duration": 60.0, **BRAZE_DEVICE}


def test_a_shown_campaign_is_an_impression_from_its_decision() -> None:
    currents = with_book()
    assert currents.events(msg("CampaignShown", {"source": "LevelUp", "campaignId": "c1"})) == []
    (shown,) = currents.decision_events(decision("SUCCESS"), "app-1")
    assert shown["event_type"] == "[Tidings] In-App Message Impression"
    assert shown["event_properties"] == {
        "campaign_id": "c1",
        "campaign_name": "Welcome",
        "message_variation_id": "B",
        "send_id": "dec-1",
        "app_id": "app-1",
        "platform": "android",
        "os_version": "14",
    }
    assert (shown["insert_id"], shown["time"], shown["user_id"]) == (
        "dec-1",
        STARTED + 30_000,
        "user-1",
    )
    server_side = {**decision("SUCCESS"), "source": "server"}
    assert currents.decision_events(server_side, "app-1") == []
    assert currents.decision_events(decision("QUIET_TIME"), "app-1") == []


def test_a_holdout_is_a_control_group_enrollment() -> None:
    (enrolled,) = with_book().decision_events(decision("HOLDOUT", "dec-2"), "app-1")
    assert enrolled["event_type"] == "[Tidings] Campaign Control Group Enrollment"
    assert enrolled["event_properties"] == {
        "campaign_id": "c1",
        "campaign_name": "Welcome",
        "message_variation_id": "B",
        "send_id": "dec-2",
        "app_id": "app-1",
    }


def test_a_click_names_the_show_it_follows() -> None:
    currents = with_book()
    completed = msg("CampaignResolved", {"campaignId": "c1", "result": "Completed"}, kind="system")
    # Before the show is known: the treatment the campaign gives this user, no send id.
    (click,) = currents.events(completed, "app-1")
    expected = pick_treatment("c1", "user-1", parse_campaign(CAMPAIGN).treatments)
    assert expected is not None
    assert click["event_type"] == "[Tidings] In-App Message Click"
    assert click["event_properties"]["message_variation_id"] == expected.id
    assert "send_id" not in click["event_properties"]
    currents.remember_shows([("app-1", decision("SUCCESS", "dec-9"))])
    (click,) = currents.events(completed, "app-1")
    assert click["event_properties"] == {
        "campaign_id": "c1",
        "campaign_name": "Welcome",
        "message_variation_id": "B",
        "send_id": "dec-9",
        "app_id": "app-1",
        **BRAZE_DEVICE,
    }
    (elsewhere,) = currents.events(completed, "app-2")
    assert "send_id" not in elsewhere["event_properties"]
    dismissed = msg("CampaignResolved", {"campaignId": "c1", "result": "Dismissed"}, kind="system")
    assert currents.events(dismissed) == []


def test_the_latest_earlier_show_is_the_one_clicked() -> None:
    book = CampaignBook()
    currents = Currents(book=book)
    early = decision("SUCCESS", "dec-early", timestamp=STARTED + 1_000)
    late = decision("SUCCESS", "dec-late", timestamp=STARTED + 50_000)
    after = decision("SUCCESS", "dec-after", timestamp=STARTED + 90_000)
    currents.remember_shows([("app-1", p) for p in (after, late, early, late)])
    completed = msg("CampaignResolved", {"campaignId": "c1", "result": "Completed"}, kind="system")
    (click,) = currents.events(completed, "app-1")
    assert click["event_properties"]["send_id"] == "dec-late"
    assert "campaign_name" not in click["event_properties"]  # the book has no campaigns


@pytest.mark.parametrize(
    ("categories", "exported"),
    [
        (None, ["custom", "purchase", "start", "click", "impression", "enrollment"]),
        (["customEvents"], ["custom"]),
        (["purchases", "sessions"], ["purchase", "start"]),
        (["inAppImpressions", "inAppClicks"], ["click", "impression"]),
        (["controlGroupEnrollments"], ["enrollment"]),
        ([], []),
    ],
)
def test_an_instance_exports_the_categories_it_chose(
    categories: list[str] | None, exported: list[str]
) -> None:
    settings: dict[str, Any] = {} if categories is None else {"categories": categories}
    currents = currents_from_json({"settings": settings})
    currents.book.load([("c1", CAMPAIGN)])
    names = {
        "[Tidings] [Custom Event] LevelUp": "custom",
        "[Tidings] Purchase": "purchase",
        "[Tidings] Session Start": "start",
        "[Tidings] In-App Message Click": "click",
        "[Tidings] In-App Message Impression": "impression",
        "[Tidings] Campaign Control Group Enrollment": "enrollment",
    }
    messages = [
        msg("LevelUp", {}),
        msg("PurchaseCompleted", {"price": 1}),
        msg("SessionStarted", {"type": "warm"}, kind="system"),
        msg("CampaignResolved", {"campaignId": "c1", "result": "Completed"}, kind="system"),
    ]
    events = [e for m in messages for e in currents.events(m, "app-1")]
    events += currents.decision_events(decision("SUCCESS"), "app-1")
    events += currents.decision_events(decision("HOLDOUT"), "app-1")
    assert [names[e["event_type"]] for e in events] == exported


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"categories": "sessions"}, "settings.categories"),
        ({"categories": ["sessions", "pushes"]}, "settings.categories[1]"),
        ({"purchaseEvents": ["SessionFinished"]}, "settings.purchaseEvents[0]"),
        ({"prefix": ""}, "settings.prefix"),
    ],
)
def test_bad_currents_settings_name_the_field(settings: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidConfig) as err:
        currents_from_json({"settings": settings})
    assert err.value.field == field


def test_the_integrations_object_keeps_a_message_out() -> None:
    assert Currents().events(msg("LevelUp", {}, integrations={"All": False})) == []
    kept_out = {"Actions Amplitude": False}
    assert Currents().events(msg("LevelUp", {}, integrations=kept_out)) == []
    let_in = {"All": False, "Actions Amplitude": True}
    assert len(Currents().events(msg("LevelUp", {}, integrations=let_in))) == 1


def test_other_system_events_are_not_exported() -> None:
    for name in ("SdkInitialized", "ConfigFetchStarted", "EventTriggered", "CustomPropertyChanged"):
        assert Currents().events(msg(name, {}, kind="system")) == []
    assert Currents().events({"type": "identify"}) == []


def test_requests_batch_events_into_one_body() -> None:
    currents = Currents(settings=Settings(api_key="k", endpoint="europe"))
    (request,) = currents.requests([msg("A", {}), msg("SdkInitialized", {}), msg("B", {})])
    assert request.url == "https://api.eu.amplitude.com/2/httpapi"
    assert request.json is not None
    assert [e["event_type"] for e in request.json["events"]] == [
        "[Tidings] [Custom Event] A",
        "[Tidings] [Custom Event] B",
    ]
    assert currents.requests([msg("SdkInitialized", {})]) == []


def test_missing_context_values_are_left_out() -> None:
    bare = [
        {"type": "track", "event": "LevelUp", "messageId": "m1", "anonymousId": "anon-1"},
        {"type": "track", "event": "SessionStarted", "anonymousId": "anon-1", "context": {}},
        {"type": "track", "event": "SessionFinished", "anonymousId": "anon-1"},
        {
            "type": "track",
            "event": "CampaignResolved",
            "properties": {"campaignId": "c1", "result": "Completed"},
        },
        {
            "type": "track",
            "event": "PurchaseCompleted",
            "properties": {"price": 1},
            "context": {"os": {}},
        },
    ]
    (request,) = Currents().requests(bare)
    assert request.json is not None
    orjson.dumps(request.json)  # no marker for a missing value reaches the body
    custom = request.json["events"][0]
    assert custom == {
        "device_id": "anon-1",
        "insert_id": "m1",
        "event_type": "[Tidings] [Custom Event] LevelUp",
        "event_properties": {},
    }
    click = request.json["events"][3]
    assert click["event_properties"] == {"campaign_id": "c1"}
    purchase = request.json["events"][4]
    assert purchase["event_properties"] == {"price": 1, "[Purchase property] price": 1}
