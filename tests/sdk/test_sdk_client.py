"""The client without a reachable server: configuration, recording, listeners, data sets."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sdk_helpers import MakeClient, SystemEvents, manifest

from tidings import InvalidConfig, InvalidEvent
from tidings.core.events import EventRecord
from tidings.sdk import Tidings


@pytest.mark.parametrize("missing", ["app_id", "api_key_public", "api_key_secret"])
@pytest.mark.parametrize("value", [None, "", "   "])
def test_missing_keys_are_invalid_config(tmp_path: Path, missing: str, value: Any) -> None:
    kwargs: dict[str, Any] = {
        "app_id": "a",
        "api_key_public": "p",
        "api_key_secret": "s",
        "data_dir": tmp_path,
    }
    kwargs[missing] = value
    with pytest.raises(InvalidConfig) as info:
        Tidings(**kwargs)
    assert info.value.code == "AMP_INVALID_CONFIG"
    assert info.value.field == missing
    assert not (tmp_path / "tidings.sqlite3").exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("backend_url", "ftp://x"),
        ("config_url", "not a url"),
        ("default_config", "{nope"),
        ("log_level", "loud"),
        ("session_timeout", -1),
        ("device", {"colour": "red"}),
    ],
)
def test_bad_options_name_the_field(tmp_path: Path, field: str, value: Any) -> None:
    kwargs: dict[str, Any] = {"app_id": "a", "api_key_public": "p", "api_key_secret": "s"}
    kwargs[field] = value
    with pytest.raises(InvalidConfig, match=field):
        Tidings(data_dir=tmp_path, **kwargs)


def test_bad_campaign_in_default_config_names_its_path(tmp_path: Path) -> None:
    bad = manifest({"name": "x", "type": "DeepLink", "triggering": {"event": {"name": "E"}}})
    with pytest.raises(InvalidConfig, match=r"default_config\.campaigns\[0\]"):
        Tidings(
            app_id="a",
            api_key_public="p",
            api_key_secret="s",
            default_config=bad,
            data_dir=tmp_path,
        )


def test_cold_start_order_and_listener_backlog(make_client: MakeClient) -> None:
    client = make_client()
    client.track("Early", {"n": 1})
    events = SystemEvents(client)  # registered after the start: still hears it
    events.wait_for("ConfigFetchFinished")
    names = [e.name for e in events.events]
    assert names[:5] == [
        "SessionStarted",
        "SdkInitialized",
        "ConfigFetchStarted",
        "EventTriggered",
        "ConfigFetchFinished",
    ] or names[:5] == [
        "SessionStarted",
        "SdkInitialized",
        "ConfigFetchStarted",
        "ConfigFetchFinished",
        "EventTriggered",
    ]
    finished = events.named("ConfigFetchFinished")[0]
    assert finished.properties == {"campaignCount": 0, "success": False, "campaigns": []}
    assert events.named("SessionStarted")[0].properties == {"type": "cold"}
    assert events.threads == {"tidings-worker"}


def test_track_validates_and_records_nothing_on_error(make_client: MakeClient) -> None:
    client = make_client()
    SystemEvents(client).wait_for("ConfigFetchFinished")  # nothing else is recorded meanwhile
    before = len(client.get_recent_events(1000))
    with pytest.raises(InvalidEvent, match="properties"):
        client.track("Bad", {"nested": {"a": 1}})
    with pytest.raises(InvalidEvent, match="name"):
        client.track("SessionStarted")
    assert len(client.get_recent_events(1000)) == before
    when = datetime(2026, 1, 2, tzinfo=UTC)
    client.track("Good", {"when": when, "n": 1.5, "ok": True})
    good, mirror = client.get_recent_events(2)[::-1]
    assert good.properties == {"when": int(when.timestamp() * 1000), "n": 1.5, "ok": True}
    assert (good.name, good.type, mirror.name) == ("Good", "custom", "EventTriggered")
    assert mirror.properties == {"sourceEvent": "Good", "properties": good.properties}


def test_custom_properties_and_data_sets(make_client: MakeClient) -> None:
    client = make_client(device={"app_version": "2.1.0", "country": "PL", "timezone": "UTC"})
    client.set_custom_properties({"plan": "pro", "seats": 3})
    client.set_custom_property("plan", "pro")  # unchanged: no event
    client.remove_custom_property("seats")
    client.set_user_id("u-1")
    changes = [
        e.properties
        for e in client.get_recent_events(50)[::-1]
        if e.name == "CustomPropertyChanged"
    ]
    assert changes == [
        {"key": "plan", "newValue": "pro"},
        {"key": "seats", "newValue": 3},
        {"key": "seats", "oldValue": 3},
    ]
    assert client.get_custom_property("plan") == "pro"
    assert client.get_custom_property("seats") is None
    assert client.get_data_set_snapshot("@custom") == {"plan": "pro"}
    assert client.get_data_set_snapshot("@user") == {"userId": "u-1"}
    device = client.get_data_set_snapshot("@device")
    assert device["appVersion"] == "2.1.0"
    assert device["appInstallVersion"] == "2.1.0"
    assert device["country"] == "PL"
    assert device["deviceId"] == client.device_id
    for _ in range(3):
        client.track("Level", {"n": 1})
    session = client.get_data_set_snapshot("@session")
    assert session["counter"] == 1
    assert session["eventCount"] >= 6
    assert client.get_data_set_snapshot("@triggeredEvent", event_name="Level") == {"count": 3}
    assert client.get_data_set_snapshot(
        "@triggeredEvent", eventName="Level", countStrategy="session"
    ) == {"count": 3}
    snapshot = client.get_data_set_snapshot("@events", events=[{"name": "Level"}])
    assert snapshot["Level"]["count"] == 3
    client.clear_custom_properties()
    assert client.get_data_set_snapshot("@custom") == {}
    with pytest.raises(ValueError, match="kind"):
        client.get_data_set_snapshot("@nope")


def test_callback_exceptions_are_logged_and_contained(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    config = manifest(
        {
            "name": "Promo",
            "type": "DeepLink",
            "triggering": {"event": {"name": "Go", "type": "custom"}},
            "content": {"url": "myapp://promo"},
        }
    )
    client = make_client(default_config=config)
    handled: list[str] = []

    def broken_listener(event: EventRecord) -> None:
        raise RuntimeError("listener bug")

    def broken_link(url: str, info: dict[str, Any]) -> bool:
        raise RuntimeError("deep link bug")

    client.set_system_events_listener(broken_listener)
    client.register_deep_link_listener(broken_link)
    client.register_deep_link_listener(lambda url, info: handled.append(url) or True)
    with caplog.at_level(logging.ERROR, logger="tidings.sdk"):
        client.track("Go")  # does not raise on the caller's thread
        events = SystemEvents(client)
        client.track("Go")
        events.wait_for("CampaignShown")
        client.close()
    assert handled == ["myapp://promo", "myapp://promo"]
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "listener raised" in messages
    assert "deep-link listener raised" in messages


def test_rate_review_handler_or_skipped(make_client: MakeClient, tmp_path: Path) -> None:
    rate = {
        "name": "Rate us",
        "type": "RateReview",
        "triggering": {"event": {"name": "Happy", "type": "custom"}},
    }
    client = make_client(default_config=manifest(rate))
    client.track("Happy")
    resolved = [e for e in client.get_recent_events(50) if e.name == "CampaignResolved"]
    assert [e.properties["result"] for e in resolved] == ["SkippedNoPresenter"]
    got = threading.Event()
    infos: list[dict[str, Any]] = []
    client.register_rate_review_handler(lambda info: (infos.append(info), got.set()))
    client.track("Happy")
    assert got.wait(5)
    assert infos[0]["campaignName"] == "Rate us"
    resolved = [e for e in client.get_recent_events(50) if e.name == "CampaignResolved"]
    assert len(resolved) == 1


def test_sessions_follow_foreground_and_background(make_client: MakeClient) -> None:
    client = make_client(session_timeout=0.0)
    events = SystemEvents(client)
    events.wait_for("ConfigFetchFinished")
    client.background()
    client.track("WhileAway")  # recorded in the paused session
    client.foreground()  # timeout 0: a new warm session, and a config refresh (never fetched)
    events.wait_for("SessionStarted", 2)
    started = events.named("SessionStarted")
    assert [e.properties["type"] for e in started] == ["cold", "warm"]
    finished = events.wait_for("SessionFinished")[0]
    assert finished.session_id == started[0].session_id
    events.wait_for("ConfigFetchFinished", 2)
    assert client.get_data_set_snapshot("@session")["counter"] == 2


def test_restart_finishes_the_crashed_session_and_keeps_state(
    make_client: MakeClient, tmp_path: Path
) -> None:
    first = make_client()
    first.set_custom_property("plan", "pro")
    first.track("Before")
    session = first.get_data_set_snapshot("@session")["id"]
    # Reading moves the first client's journal into SQLite (its worker does within moments; a
    # killed process's journal is taken over at the next open, see the SIGKILL tests), while its
    # device state stays unsaved: the second client must replay "Before" into it.
    first.get_recent_events(1)
    # A second client on the same directory is what a restart after a crash looks like.
    second = make_client()
    events = SystemEvents(second)
    events.wait_for("SessionStarted")
    finished = [e for e in second.get_recent_events(100) if e.name == "SessionFinished"]
    assert finished[0].session_id == session
    assert second.get_custom_property("plan") == "pro"
    assert second.get_data_set_snapshot("@session")["counter"] == 2
    assert second.get_data_set_snapshot("@triggeredEvent", event_name="Before") == {"count": 1}
    assert second.device_id == first.device_id


def test_the_queue_is_bounded_and_counts_what_it_dropped(make_client: MakeClient) -> None:
    # The uploader (its server is unreachable) may take a batch in flight at any point, and rows
    # in flight are never dropped (a resend must be the same request); batches smaller than the
    # queue leave the oldest rows outside the batch to drop, whenever the batch was taken.
    client = make_client(max_queue_events=20, upload_batch_size=5)
    SystemEvents(client).wait_for("ConfigFetchFinished")  # 4 start-up events queued
    for i in range(30):
        client.track("E", {"i": i})
    assert client.pending_count() == 20
    assert client.dropped_count() == 4 + 60 - 20
    newest = [e.properties["i"] for e in client.get_recent_events(100) if e.name == "E"]
    assert max(newest) == 29


def test_calls_after_close_are_ignored(make_client: MakeClient) -> None:
    client = make_client()
    client.close()
    client.track("Late")
    client.close()
    assert client.closed
    assert client.get_recent_events() == []
