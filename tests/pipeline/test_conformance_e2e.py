"""An SDK app and a Segment client, through the real server, to Amplitude and to Currents mode.

One server (uvicorn on loopback, the pipeline in its process) with two destinations of one app:
an Amplitude instance with the default presets and a Currents-mode instance, each sending to
its own Amplitude stand-in. The SDK app tracks ten events and a purchase, changes a custom
property twice and meets two campaigns (one shown, one held out); a Segment client sends tracks
with and without Segment's ``integrations`` flags. The test counts what each stand-in received,
and checks that ``preview`` of the stored payloads gives exactly what was delivered.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from amplitude_standin import Standin
from segment.analytics import Client

from loopback import ThreadedServer, free_port
from tidings.core.events import EventRecord
from tidings.destinations.amplitude import preview
from tidings.pipeline.delivery import create_instance
from tidings.sdk import Tidings
from tidings.server.app import create_app_for_url
from tidings.storage import open_store

SERVER_KEY = bytes(range(96, 128))
TIDINGS = shutil.which("tidings", path=str(Path(sys.executable).parent)) or "tidings"
SHOP_OFFER = {
    "name": "Shop offer",
    "type": "DeepLink",
    "triggering": {"event": {"name": "OpenedShop", "type": "custom"}},
    "treatments": [
        {"id": "A", "sizePercent": 50, "content": {"url": "app://offer-a"}},
        {"id": "B", "sizePercent": 50, "content": {"url": "app://offer-b"}},
    ],
}
HELD_OUT = {
    "name": "Held out",
    "type": "DeepLink",
    "priority": 5,
    "holdoutPercent": 100,
    "triggering": {"event": {"name": "OpenedShop", "type": "custom"}},
    "content": {"url": "app://never"},
}
PURCHASE = {"sku": "premium_yearly", "price": 59.99, "currency": "USD", "is_trial": False}


@dataclass
class Served:
    url: str
    db_url: str
    app: dict[str, Any]
    campaigns: dict[str, str]
    amp: Standin
    currents: Standin


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    db_url = f"sqlite:///{tmp_path / 'server.db'}"
    with Standin() as amp, Standin() as cur:

        async def bootstrap() -> tuple[dict[str, Any], dict[str, str]]:
            store = await open_store(db_url, server_key=SERVER_KEY)
            try:
                project = await store.create_project("Conformance")
                app = (await store.create_app(project.id, "Shop", "python")).to_json()
                app_id = app["appId"]
                settings = {"apiKey": "test-key", "baseUrl": amp.url}
                await create_instance(store, app_id, {"name": "Amplitude", "settings": settings})
                currents = {"apiKey": "test-key", "baseUrl": cur.url, "prefix": "[Appboy]"}
                body = {"kind": "amplitude-currents", "name": "Currents", "settings": currents}
                await create_instance(store, app_id, body)
                ids = {}
                for campaign in (SHOP_OFFER, HELD_OUT):
                    stored = await store.create_campaign(app_id, campaign, "Active")
                    ids[str(campaign["name"])] = stored.id
                return app, ids
            finally:
                await store.close()

        app, campaigns = asyncio.run(bootstrap())
        server = ThreadedServer()
        port = free_port()
        server.start(create_app_for_url(db_url, server_key=SERVER_KEY, pipeline=True), port)
        try:
            yield Served(f"http://127.0.0.1:{port}", db_url, app, campaigns, amp, cur)
        finally:
            server.stop()


def wait_until(check: Callable[[], bool], what: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def run_sdk_app(served: Served, data_dir: Path) -> None:
    """Ten track() calls (the tenth shows a campaign), a purchase, two property changes."""
    fetched = threading.Event()

    def on_system_event(event: EventRecord) -> None:
        if event.name == "ConfigFetchFinished":
            fetched.set()

    client = Tidings(
        app_id=served.app["appId"],
        api_key_public=served.app["apiKeyPublic"],
        api_key_secret=served.app["apiKeySecret"],
        backend_url=served.url,
        data_dir=data_dir,
        upload_interval=0.05,
    )
    try:
        client.set_system_events_listener(on_system_event)
        client.register_deep_link_listener(lambda url, info: True)
        assert fetched.wait(20), "the campaign configuration was never fetched"
        client.set_user_id("user-00042")
        for i in range(9):
            client.track("SongPlayed", {"n": i})
        client.track("OpenedShop")
        client.track("PurchaseCompleted", PURCHASE)
        client.set_custom_property("plan_tier", "pro")
        client.remove_custom_property("plan_tier")
        assert client.flush(20)
    finally:
        client.close()


def run_segment_client(served: Served) -> None:
    """A track, one kept out by ``All: false``, one kept out by name, one let back in by name,
    and an identify."""
    errors: list[Exception] = []
    client = Client(
        served.app["writeKey"],
        host=served.url,
        sync_mode=True,
        on_error=lambda e, b: errors.append(e),
    )
    client.track("seg-user-1", "Song Shared", {"n": 1})
    client.track("seg-user-1", "Kept Out", {"n": 2}, integrations={"All": False})
    client.track("seg-user-1", "Kept Out By Name", {}, integrations={"Actions Amplitude": False})
    let_in = {"All": False, "Actions Amplitude": True}
    client.track("seg-user-1", "Let In By Name", {"n": 4}, integrations=let_in)
    client.identify("seg-user-1", {"email": "a@example.com"})
    client.flush()
    assert errors == []


def stored_payloads(served: Served) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The app's stored event payloads and decision payloads, in log order."""

    async def read() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        store = await open_store(served.db_url, server_key=SERVER_KEY)
        events: list[dict[str, Any]] = []
        decisions: list[dict[str, Any]] = []
        try:
            after = 0
            while page := await store.read_log(after, 1000):
                for record in page:
                    payload = orjson.loads(record.payload)
                    (events if record.kind == "event" else decisions).append(payload)
                after = page[-1].seq
        finally:
            await store.close()
        return events, decisions

    return asyncio.run(read())


def test_sdk_and_segment_through_the_server_to_amplitude_and_currents(
    served: Served, tmp_path: Path
) -> None:
    run_sdk_app(served, tmp_path / "device")
    run_segment_client(served)
    amp, cur = served.amp, served.currents
    wait_until(lambda: len(amp.accepted) >= 16 and len(amp.state.identifications) >= 3, "Amplitude")
    wait_until(lambda: len(cur.accepted) >= 18, "Currents")
    time.sleep(1.5)  # nothing more may arrive: a second copy, a plumbing event

    # --- Amplitude (Actions) presets -----------------------------------------------------------
    # The session starts before the user id is set: whether its upload names the user is a race,
    # so the SDK device's events are everything the Segment client did not send.
    sdk = [e for e in amp.accepted if e.get("user_id") != "seg-user-1"]
    types = Counter(e["event_type"] for e in sdk)
    assert types == {
        "SongPlayed": 9,
        "OpenedShop": 1,
        "PurchaseCompleted": 1,
        "session_start": 1,
        "session_end": 1,
        "CampaignShown": 1,
    }
    sessions_and_shows = ("session_start", "session_end", "CampaignShown")
    tracked = [e for e in sdk if e["event_type"] not in sessions_and_shows]
    assert len(tracked) == 11  # ten track() calls and a purchase: one event each
    (purchase,) = [e for e in sdk if e["event_type"] == "PurchaseCompleted"]
    assert (purchase["revenue"], purchase["price"], purchase["revenueType"]) == (
        59.99,
        59.99,
        "Purchase",
    )
    assert (purchase["productId"], purchase["currency"]) == ("premium_yearly", "USD")
    changes = [i for i in amp.state.identifications if i.get("user_id") == "user-00042"]
    assert [i["user_properties"] for i in changes] == [
        {"$set": {"plan_tier": "pro"}},
        {"$unset": {"plan_tier": "-"}},
    ]
    segment = [e for e in amp.accepted if e.get("user_id") == "seg-user-1"]
    assert sorted(e["event_type"] for e in segment) == ["Let In By Name", "Song Shared"]
    (identify,) = [i for i in amp.state.identifications if i.get("user_id") == "seg-user-1"]
    assert identify["user_properties"] == {"email": "a@example.com"}
    assert amp.state.received == len(amp.accepted)  # nothing was sent twice

    # --- preview of the stored payloads gives what was delivered -------------------------------
    events, decisions = stored_payloads(served)
    settings = {"apiKey": "test-key", "baseUrl": amp.url}
    previewed = [r for payload in events for r in preview(payload, settings=settings)]
    by_insert_id = {e["insert_id"]: e for e in amp.accepted}
    expected_events = [e for r in previewed if "json" in r for e in r["json"]["events"]]
    assert sorted(e["insert_id"] for e in expected_events) == sorted(by_insert_id)
    for event in expected_events:
        assert by_insert_id[event["insert_id"]] == event
    forms = [r["form"]["identification"] for r in previewed if "form" in r]
    received = [{k: v for k, v in i.items() if k != "path"} for i in amp.state.identifications]
    assert [orjson.loads(f) for f in forms] == received
    stored_purchase = next(
        p for p in events if p.get("event", {}).get("name") == "PurchaseCompleted"
    )
    cli = subprocess.run(
        [TIDINGS, "amplitude", "preview", "--settings", json.dumps(settings)],
        input=json.dumps(stored_purchase),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert cli.returncode == 0, cli.stderr
    (request,) = json.loads(cli.stdout)
    assert request["json"]["events"] == [by_insert_id[stored_purchase["event"]["id"]]]

    # --- Currents mode -------------------------------------------------------------------------
    app_id = served.app["appId"]
    current = Counter(e["event_type"] for e in cur.accepted)
    assert current == {
        "[Appboy] First Session": 1,
        "[Appboy] Session Start": 1,
        "[Appboy] Session End": 1,
        "[Appboy] [Custom Event] SongPlayed": 9,
        "[Appboy] [Custom Event] OpenedShop": 1,
        "[Appboy] Purchase": 1,
        "[Appboy] In-App Message Impression": 1,
        "[Appboy] Campaign Control Group Enrollment": 1,
        "[Appboy] [Custom Event] Song Shared": 1,
        "[Appboy] [Custom Event] Let In By Name": 1,
    }
    assert all(e["event_properties"].get("app_id") == app_id for e in cur.accepted)
    (start,) = [e for e in cur.accepted if e["event_type"] == "[Appboy] Session Start"]
    session_id = next(p["event"]["sessionId"] for p in events if p.get("source") == "sdk")
    assert start["event_properties"]["session_id"] == session_id
    by_status = {d["decision"]["status"]: d for d in decisions}
    shown, held = by_status["SUCCESS"]["decision"], by_status["HOLDOUT"]["decision"]
    device = by_status["SUCCESS"]["device"]
    (impression,) = [e for e in cur.accepted if e["event_type"].endswith("Impression")]
    assert impression["event_properties"] == {
        "campaign_id": served.campaigns["Shop offer"],
        "campaign_name": "Shop offer",
        "message_variation_id": shown["treatmentId"],
        "send_id": shown["id"],
        "app_id": app_id,
        "platform": device["platform"],
        "os_version": device["osVersion"],
        "device_model": device["model"],
    }
    assert shown["treatmentId"] in ("A", "B")
    (enrolled,) = [e for e in cur.accepted if e["event_type"].endswith("Enrollment")]
    assert enrolled["event_properties"] == {
        "campaign_id": served.campaigns["Held out"],
        "campaign_name": "Held out",
        "message_variation_id": held["treatmentId"],
        "send_id": held["id"],
        "app_id": app_id,
    }
    (bought,) = [e for e in cur.accepted if e["event_type"] == "[Appboy] Purchase"]
    assert (bought["price"], bought["productId"]) == (59.99, "premium_yearly")
    assert bought["event_properties"]["currency"] == "USD"
