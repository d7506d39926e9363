"""Server campaigns end to end: the real server, a real ``tidings worker`` process killed with
SIGKILL mid-way and started again, an unmodified Segment client and the SDK sending events, and
a local receiver that verifies every Standard Webhooks signature.

The receiver gets exactly the rendered bodies the campaigns call for, under the decision ids;
the per-person limit holds across the kill (a second "Signed Up" of a person is capped, whoever
evaluates it); a call the receiver refuses with 400 ends as CUSTOM_DELIVERY_FAILURE in the
stream and the stats; holdout and treatments split as the device would split them.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from segment.analytics import Client
from storage_support import SERVER_KEY
from webhook_receiver import SECRET, WebhookReceiver

from loopback import ThreadedServer, free_port
from tidings.core.campaigns import parse_campaign, pick_treatment
from tidings.core.campaigns.buckets import in_holdout
from tidings.core.campaigns.identity import decision_id
from tidings.core.events import EventRecord
from tidings.pipeline.delivery import create_instance
from tidings.sdk import Tidings
from tidings.server.app import create_app_for_url
from tidings.storage import LogRecord, open_store
from tidings.streams import records_from_row

pytestmark = [pytest.mark.slow, pytest.mark.reliability]

SRC = str(Path(__file__).resolve().parents[2] / "src")
WORKER = (
    "import sys; from tidings.cli import app; import tidings.cli.worker; "
    "app(sys.argv[1:], prog_name='tidings')"
)
BODY = {"to": "{{traits.email}}", "plan": "{{event.properties.plan}}", "who": "{{user.userId}}"}
SPLIT_BODY = {"arm": "{{campaign.treatmentId}}", "user": "{{user.userId}}"}


def start_worker(url: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": SRC, "TIDINGS_SECRET_KEY": SERVER_KEY.hex()}
    args = ["worker", "--db", url, "--lease-ms", "400", "--batch-wait-ms", "0"]
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, *args, "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def wait_until(check: Callable[[], bool], what: str, seconds: float = 90.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def log_decisions(db_url: str) -> list[LogRecord]:
    async def read() -> list[LogRecord]:
        store = await open_store(db_url, server_key=SERVER_KEY)
        try:
            return [r for r in await store.read_log(0, 100_000) if r.kind == "decision"]
        finally:
            await store.close()

    return asyncio.run(read())


def bootstrap(db_url: str, hook_url: str) -> tuple[dict[str, Any], dict[str, str]]:
    async def go() -> tuple[dict[str, Any], dict[str, str]]:
        store = await open_store(db_url, server_key=SERVER_KEY)
        try:
            project = await store.create_project("Server campaigns")
            app = (await store.create_app(project.id, "Web", "python")).to_json()
            body = {
                "kind": "webhook",
                "name": "Mailer",
                "settings": {"url": hook_url, "secret": SECRET},
                "subscriptions": [],
            }
            instance = await create_instance(store, app["appId"], body)
            welcome = {
                "name": "Welcome",
                "type": "Webhook",
                "channel": "server",
                "triggering": {
                    "event": {"name": "Signed Up", "type": "custom"},
                    "limit": {"limit": 1, "limitType": "device"},
                },
                "content": {"destinationId": instance.id, "channelType": "EMAIL", "body": BODY},
            }
            split = {
                "name": "Split",
                "type": "Webhook",
                "triggering": {"event": {"name": "Upgraded", "type": "custom"}},
                "holdoutPercent": 30,
                "treatments": [
                    {"id": "A", "sizePercent": 50},
                    {"id": "B", "sizePercent": 50},
                ],
                "content": {"destinationId": instance.id, "body": SPLIT_BODY},
            }
            ids = {}
            for doc in (welcome, split):
                ids[str(doc["name"])] = (
                    await store.create_campaign(app["appId"], doc, "Active")
                ).id
            # Where a first worker would start (the end of the log), set before any event.
            await store.commit_cursor("server-campaigns", await store.last_seq())
            return app, ids
        finally:
            await store.close()

    return asyncio.run(go())


def segment_round(url: str, write_key: str, users: range) -> None:
    errors: list[Exception] = []
    client = Client(write_key, host=url, sync_mode=True, on_error=lambda e, b: errors.append(e))
    for n in users:
        client.identify(f"user-{n}", {"email": f"user-{n}@example.org"})
        client.track(f"user-{n}", "Signed Up", {"plan": f"plan-{n}"})
        client.track(f"user-{n}", "Upgraded", {})
    client.flush()
    assert errors == []


def sdk_round(url: str, app: dict[str, Any], data_dir: Path) -> None:
    fetched = threading.Event()

    def on_system_event(event: EventRecord) -> None:
        if event.name == "ConfigFetchFinished":
            fetched.set()

    client = Tidings(
        app_id=app["appId"],
        api_key_public=app["apiKeyPublic"],
        api_key_secret=app["apiKeySecret"],
        backend_url=url,
        data_dir=data_dir,
        upload_interval=0.05,
    )
    try:
        client.set_system_events_listener(on_system_event)
        assert fetched.wait(20)
        client.set_user_id("sdk-user")
        client.set_custom_property("email", "sdk@example.org")
        client.track("Signed Up", {"plan": "mobile"})
        assert client.flush(20)
    finally:
        client.close()


def test_server_campaigns_through_server_and_a_killed_worker(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'server.db'}"
    with WebhookReceiver() as hook:
        app, ids = bootstrap(db_url, hook.url)
        welcome, split = ids["Welcome"], ids["Split"]
        server = ThreadedServer()
        port = free_port()
        server.start(create_app_for_url(db_url, server_key=SERVER_KEY), port)
        url = f"http://127.0.0.1:{port}"
        worker = start_worker(db_url)
        try:
            segment_round(url, app["writeKey"], range(0, 12))
            wait_until(lambda: len(hook.accepted) >= 3, "the first calls")
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=30)
            # While no worker runs: every person signs up again, new people arrive, and the
            # receiver will refuse one new person's call.
            segment_round(url, app["writeKey"], range(0, 14))
            first = log_messages(db_url)
            signed = next(
                m for m in first if m.get("userId") == "user-13" and m.get("event") == "Signed Up"
            )
            refused = decision_id(app["appId"], signed["messageId"], welcome)
            hook.state.refuse.add(refused)
            sdk_round(url, app, tmp_path / "device")
            worker = start_worker(db_url)

            def settled() -> bool:
                statuses = Counter(
                    (r.name, orjson.loads(r.payload)["decision"]["status"])
                    for r in log_decisions(db_url)
                )
                return (
                    statuses[(welcome, "SUCCESS")] == 15
                    and statuses[(welcome, "CUSTOM_DELIVERY_FAILURE")] == 1
                    and sum(n for (c, _), n in statuses.items() if c == split) == 26
                )

            wait_until(settled, "every decision and the failure")
            time.sleep(1.0)
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(timeout=30) == 0
        finally:
            if worker.poll() is None:
                worker.kill()
            server.stop()
        assert hook.state.forged == 0

        decisions = log_decisions(db_url)
        payloads = {r.item_id: orjson.loads(r.payload) for r in decisions}
        assert len(payloads) == len(decisions)
        welcome_statuses = Counter(
            p["decision"]["status"]
            for p in payloads.values()
            if p["decision"]["campaignId"] == welcome
        )
        # 14 Segment people and the SDK user once each; the second sign-ups are capped.
        assert welcome_statuses == {"SUCCESS": 15, "CAMPAIGN_CAP": 12, "CUSTOM_DELIVERY_FAILURE": 1}

        calls = {h["webhook-id"]: orjson.loads(raw) for h, raw, status in hook.state.requests}
        successes = {i for i, p in payloads.items() if p["decision"]["status"] == "SUCCESS"}
        delivered = set(calls) - {refused}
        assert delivered == successes - {refused}
        for did, call in calls.items():
            if call["campaign"]["id"] != welcome:
                continue
            who = call["user"]["userId"]
            n = who.removeprefix("user-")
            plan = "mobile" if who == "sdk-user" else f"plan-{n}"
            email = "sdk@example.org" if who == "sdk-user" else f"{who}@example.org"
            assert call["body"] == {"to": email, "plan": plan, "who": who}, did

        # Holdout and treatments: what the device would decide for the same user id.
        split_campaign = parse_campaign({**split_doc(db_url, split), "id": split})
        for p in payloads.values():
            decision = p["decision"]
            if decision["campaignId"] != split:
                continue
            user = p["userId"]
            assert (decision["status"] == "HOLDOUT") == in_holdout(split, user, 30)
            arm = pick_treatment(split, user, split_campaign.treatments)
            assert arm is not None and decision["treatmentId"] == arm.id
        for call in calls.values():
            if call["campaign"]["id"] == split:
                assert call["body"]["arm"] == call["campaign"]["treatmentId"]

        failure = next(r for r in decisions if r.item_id == f"{refused}-failure")
        (record,) = records_from_row(failure)
        assert record["attributes"]["campaign_send_status"] == "CUSTOM_DELIVERY_FAILURE"
        assert record["attributes"]["campaign_activity_id"] == refused

        async def stats() -> dict[str, int]:
            store = await open_store(db_url, server_key=SERVER_KEY)
            try:
                return dict((await store.campaign_stats(welcome)).decisions)
            finally:
                await store.close()

        assert asyncio.run(stats()) == {
            "SUCCESS": 15,
            "CAMPAIGN_CAP": 12,
            "CUSTOM_DELIVERY_FAILURE": 1,
        }


def log_messages(db_url: str) -> list[dict[str, Any]]:
    async def read() -> list[dict[str, Any]]:
        store = await open_store(db_url, server_key=SERVER_KEY)
        try:
            out = []
            for r in await store.read_log(0, 100_000):
                payload = orjson.loads(r.payload)
                if r.kind == "event" and payload.get("source") == "segment":
                    out.append(payload["message"])
            return out
        finally:
            await store.close()

    return asyncio.run(read())


def split_doc(db_url: str, campaign_id: str) -> dict[str, Any]:
    async def read() -> dict[str, Any]:
        store = await open_store(db_url, server_key=SERVER_KEY)
        try:
            stored = await store.get_campaign(campaign_id)
            assert stored is not None
            return dict(stored.body)
        finally:
            await store.close()

    return asyncio.run(read())
