"""``tidings serve`` (a uvicorn process) feeding a JSON Lines sink and a JetStream sink that were
configured through the admin API, killed with SIGKILL in the middle of the stream and restarted.

Devices upload over real sockets with signed requests while the server dies and comes back;
every record must arrive in the Pinpoint envelope, none may be missing, and the only duplicates
allowed are identical copies carrying the same ``event_id``.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from stream_support import OwnServer, check_envelope, read_stream_at

from loopback import ServeProcess, free_port, signed_headers, start_serve
from tidings.storage import open_store
from tidings.streams.jsonl import app_directory_name, read_jsonl_dir

SERVER_KEY = bytes(range(64, 96))
T0 = 1_764_300_000_000
SUPPRESSIONS = ("DAILY_CAP", "SESSION_CAP", "LOWER_PRIORITY", "HOLDOUT", "QUIET_TIME")
GATE_OUTCOMES = (
    ({"result": "Completed"}, "_inapp.message_clicked"),
    ({"result": "Dismissed"}, "_inapp.message_dismissed"),
    ({"result": "Unavailable", "unavailableReason": "TimedOut"}, "_inapp.message_failed"),
)


class Server:
    """``tidings serve`` on a fixed port, so clients keep their address across restarts."""

    def __init__(self, db: str, env: dict[str, str]) -> None:
        self.db, self.env, self.port = db, env, free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: ServeProcess | None = None

    def start(self) -> None:
        self.proc = start_serve(self.db, self.env, port=self.port)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop(timeout_s=20)
            self.proc = None


async def _bootstrap(db: str) -> tuple[str, dict[str, Any]]:
    store = await open_store(db, server_key=SERVER_KEY)
    try:
        token = await store.create_admin_token("stream-test")
        project = await store.create_project("Streamed")
        app = await store.create_app(project.id, "Streamed app", "ios")
        await store.create_campaign(app.app_id, {"id": "c-gate", "name": "Gate"}, "Active")
        return token, app.to_json()
    finally:
        await store.close()


def device_uploads(device: int, uploads: int) -> list[dict[str, Any]]:
    """One device's session over several uploads: session start and stop, custom events, a
    purchase, campaign decisions (sent and suppressed) and in-app gate outcomes."""
    dev, sid = f"dev-{device}", f"s-{device}"
    bodies = []
    for u in range(uploads):
        t = T0 + device * 1_000_000 + u * 1_000
        events: list[dict[str, Any]] = []
        if u == 0:
            events.append(_event(f"{dev}-start", "SessionStarted", "system", t, sid, type="cold"))
        for i in range(4):
            events.append(_event(f"{dev}-{u}-tap-{i}", "Tapped", "custom", t + i, sid, n=i))
        events.append(
            _event(f"{dev}-{u}-buy", "PurchaseCompleted", "custom", t + 5, sid, price=2.5, sku="g")
        )
        outcome, _ = GATE_OUTCOMES[u % len(GATE_OUTCOMES)]
        events.append(
            _event(f"{dev}-{u}-shown", "CampaignShown", "system", t + 6, sid, campaignId="c-gate")
        )
        events.append(
            _event(
                f"{dev}-{u}-res",
                "CampaignResolved",
                "system",
                t + 7,
                sid,
                campaignId="c-gate",
                **outcome,
            )
        )
        if u == uploads - 1:
            events.append(_event(f"{dev}-stop", "SessionFinished", "system", t + 9, sid))
        decisions = [
            _decision(f"{dev}-{u}-d-ok", "SUCCESS", t + 6, f"{dev}-{u}-tap-0"),
            _decision(
                f"{dev}-{u}-d-sup", SUPPRESSIONS[u % len(SUPPRESSIONS)], t + 6, f"{dev}-{u}-tap-1"
            ),
        ]
        bodies.append(
            {
                "device": {
                    "deviceId": dev,
                    "platform": "ios",
                    "osVersion": "17.4",
                    "locale": "en_GB",
                },
                "user": {"userId": f"user-{device}"},
                "sessions": [{"id": sid, "counter": 1, "type": "cold", "startedAt": T0}],
                "events": events,
                "decisions": decisions,
            }
        )
    return bodies


def _event(eid: str, name: str, kind: str, ts: int, sid: str, **props: Any) -> dict[str, Any]:
    return {
        "id": eid,
        "name": name,
        "type": kind,
        "timestamp": ts,
        "sessionId": sid,
        "properties": props,
    }


def _decision(did: str, status: str, ts: int, event_id: str) -> dict[str, Any]:
    return {
        "id": did,
        "campaignId": "c-gate",
        "status": status,
        "treatmentId": "0",
        "source": "Tapped",
        "eventId": event_id,
        "timestamp": ts,
    }


def expected_ids(bodies: list[dict[str, Any]]) -> set[str]:
    """The ``event_id`` of every record the uploads must produce (docs/spec/stream.md)."""
    out: set[str] = set()
    for body in bodies:
        for e in body["events"]:
            out.add(e["id"])
            if e["name"] == "PurchaseCompleted":
                out.add(f"{e['id']}/_monetization.purchase")
            elif e["name"] == "CampaignShown":
                out.add(f"{e['id']}/_inapp.message_displayed")
            elif e["name"] == "CampaignResolved":
                kind = next(k for o, k in GATE_OUTCOMES if o["result"] == e["properties"]["result"])
                out.add(f"{e['id']}/{kind}")
        out.update(d["id"] for d in body["decisions"])
    return out


class Uploader(threading.Thread):
    """Sends uploads in order, each retried with its own request id until the server stores it
    (the SDK's behaviour: a retry of the same request is idempotent)."""

    def __init__(
        self, base: str, app: dict[str, Any], bodies: list[dict[str, Any]], hold_at: int = -1
    ) -> None:
        super().__init__(daemon=True)
        self.base, self.app, self.bodies = base, app, bodies
        self.sent = 0
        self.failures = 0
        self.hold_at = hold_at
        self.held = threading.Event()
        self.go_on = threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=5) as client:
            for index, body in enumerate(self.bodies):
                if index == self.hold_at:
                    self.held.set()
                    self.go_on.wait(60)
                raw, request_id = orjson.dumps(body), str(uuid.uuid4())
                while True:
                    headers = signed_headers(self.app, raw, request_id, sign_request_id=False)
                    try:
                        r = client.post(f"{self.base}/api/v1/session", content=raw, headers=headers)
                    except httpx.TransportError:
                        self.failures += 1
                        time.sleep(0.05)
                        continue
                    if r.status_code == 200:
                        break
                    self.failures += 1
                    time.sleep(0.05)
                self.sent += 1


def _wait(predicate: Any, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _written(directory: Path) -> int:
    """Records written so far, open (partial) files included."""
    return sum(p.read_bytes().count(b"\n") for p in directory.glob("*/*") if p.is_file())


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[OwnServer]:
    server = OwnServer(tmp_path / "js")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.slow
@pytest.mark.nats
@pytest.mark.reliability
def test_sinks_survive_sigkill_without_gaps(tmp_path: Path, nats_server: OwnServer) -> None:
    db_path = tmp_path / "tidings.db"
    db = f"sqlite:///{db_path}"
    server = Server(db, {**os.environ, "TIDINGS_SECRET_KEY": SERVER_KEY.hex()})
    server.start()
    try:
        token, app = asyncio.run(_bootstrap(db))
        admin = {"Authorization": f"Bearer {token}"}
        out = tmp_path / "stream"
        base = f"{server.base}/admin/api/apps/{app['appId']}/streams"
        jsonl = httpx.post(
            base, json={"kind": "jsonl", "settings": {"directory": str(out)}}, headers=admin
        )
        js = httpx.post(
            base,
            json={
                "kind": "nats",
                "settings": {"servers": [nats_server.url], "streamPrefix": "E2E"},
            },
            headers=admin,
        )
        assert jsonl.status_code == js.status_code == 201, (jsonl.text, js.text)
        sinks = [jsonl.json()["id"], js.json()["id"]]

        bodies = [b for d in range(6) for b in device_uploads(d, 5)]
        bodies.sort(key=lambda b: b["events"][0]["timestamp"] % 1_000_000)  # interleave devices
        uploader = Uploader(server.base, app, bodies, hold_at=len(bodies) // 2)
        uploader.start()
        assert uploader.held.wait(60)
        _wait(lambda: _written(out) > 0, "the first delivered records")
        uploader.go_on.set()
        # Kill while the second half is arriving and being streamed; the rest straddles the
        # restart (refused connections, retried with the same request ids).
        _wait(lambda: uploader.sent >= uploader.hold_at + 3, "more uploads")
        server.kill()
        # The dead process cannot renew its leases; expire them instead of waiting them out.
        with sqlite3.connect(db_path) as conn:
            conn.execute("UPDATE leases SET expires_at = 0")
        server.start()
        uploader.join(timeout=120)
        assert not uploader.is_alive() and uploader.sent == len(bodies)

        def caught_up() -> bool:
            states = [httpx.get(f"{base}/{s}", headers=admin).json() for s in sinks]
            return all(s["behind"] == 0 for s in states)

        _wait(caught_up, "both sinks to catch up")
    finally:
        server.stop()  # graceful: the pipeline completes the open JSON Lines files

    expected = expected_ids(bodies)
    from_files = read_jsonl_dir(out / app_directory_name(app["appId"]))
    from_js = [
        body for body, _ in asyncio.run(read_stream_at(nats_server.url, f"E2E_{app['appId']}"))
    ]
    for got in (from_files, from_js):
        for record in got:
            check_envelope(record)
            assert record["application"]["app_id"] == app["appId"]
        first: dict[str, dict[str, Any]] = {}
        for record in got:
            copy = first.setdefault(record["event_id"], record)
            assert copy == record, "a duplicate must be an identical copy"
        assert set(first) == expected  # nothing missing, nothing foreign
        counts = Counter(r["event_type"] for r in first.values())
        assert counts["_campaign.send"] == 2 * len(bodies)
        assert counts["_monetization.purchase"] == len(bodies)
        assert counts["_session.start"] == counts["_session.stop"] == 6
        assert counts["_inapp.message_displayed"] == len(bodies)
        statuses = Counter(
            r["attributes"]["campaign_send_status"]
            for r in first.values()
            if r["event_type"] == "_campaign.send"
        )
        assert statuses["SUCCESS"] == len(bodies) and set(statuses) > set(SUPPRESSIONS[:3])
        per_device: dict[str, list[int]] = {}
        for record in got:
            if record["event_type"] == "Tapped":
                per_device.setdefault(record["client"]["client_id"], []).append(
                    record["event_timestamp"]
                )
        for stamps in per_device.values():  # per-device order is kept (first copies)
            firsts = list(dict.fromkeys(stamps))
            assert firsts == sorted(firsts)


@pytest.mark.slow
def test_tail_prints_records_of_new_uploads(tmp_path: Path) -> None:
    db_path = tmp_path / "tidings.db"
    db = f"sqlite:///{db_path}"
    env = {**os.environ, "TIDINGS_SECRET_KEY": SERVER_KEY.hex()}
    server = Server(db, env)
    server.start()
    tail: subprocess.Popen[bytes] | None = None
    try:
        _, app = asyncio.run(_bootstrap(db))
        bodies = device_uploads(2, 2)
        want = expected_ids(bodies)
        old = Uploader(server.base, app, device_uploads(1, 1))
        old.run()  # stored before the tail starts: not printed
        code = "from tidings.cli import main; main()"
        tail = subprocess.Popen(
            [
                sys.executable,
                "-c",
                code,
                "streams",
                "tail",
                "--db",
                db,
                "--app",
                app["appId"],
                "--limit",
                str(len(want)),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        assert tail.stderr is not None and tail.stdout is not None
        assert b"tailing from log position" in tail.stderr.readline()
        Uploader(server.base, app, bodies).run()
        printed, _ = tail.communicate(timeout=60)
        lines = [orjson.loads(line) for line in printed.splitlines()]
        for record in lines:
            check_envelope(record)
        assert {r["event_id"] for r in lines} == want
    finally:
        if tail is not None:
            tail.kill()
            tail.wait()
            for pipe in (tail.stdout, tail.stderr):
                if pipe is not None:
                    pipe.close()
        server.stop()
