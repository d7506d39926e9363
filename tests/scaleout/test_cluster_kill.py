"""The scale-out topology under SIGKILL: a three-node NATS cluster (started here, on loopback),
two ``tidings serve --log`` processes and two ``tidings worker --log`` processes on one
PostgreSQL database, a JSON Lines sink and an Amplitude destination (a local stand-in enforcing
Amplitude's contract, its per-device throttle included). While signed uploads arrive at both
servers, one NATS node, one server and one worker are killed and started again. Every
acknowledged event must reach the sink and Amplitude, each device's in order at both;
duplicates only as at-least-once allows (identical copies with the same event_id at the sink,
the same insert_id at Amplitude, which keeps one).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import nats
import orjson
import pytest
from amplitude_standin import Standin
from nats_cluster import Cluster
from storage_support import backend_named

from loopback import ServeProcess, free_port, signed_headers, start_serve
from tidings.storage import open_store
from tidings.storage.logstatus import MEMBER_PREFIX
from tidings.streams.jsonl import app_directory_name, read_jsonl_dir

pytestmark = [pytest.mark.slow, pytest.mark.nats, pytest.mark.reliability, pytest.mark.postgres]

SERVER_KEY = bytes(range(96, 128))
SRC = str(Path(__file__).resolve().parents[2] / "src")
CLI = "import sys; from tidings.cli import app; app(sys.argv[1:], prog_name='tidings')"
T0 = 1_764_300_000_000
ENV = {**os.environ, "PYTHONPATH": SRC, "TIDINGS_SECRET_KEY": SERVER_KEY.hex()}


async def _ready(url: str, stream: str | None = None) -> None:
    """Wait for the cluster's JetStream to elect its leader (and ``stream`` its own)."""
    for _ in range(100):
        try:
            nc = await nats.connect(
                url.split(",", maxsplit=1)[0], connect_timeout=1, max_reconnect_attempts=1
            )
            try:
                if stream is None:
                    await nc.jetstream().account_info()
                else:
                    await nc.jetstream().stream_info(stream)
                return
            finally:
                await nc.close()
        except Exception:
            await asyncio.sleep(0.2)
    raise AssertionError("the NATS cluster did not become ready")


async def _bootstrap(db: str, log: str) -> tuple[str, dict[str, Any]]:
    store = await open_store(db, server_key=SERVER_KEY, log=log)
    try:
        token = await store.create_admin_token("cluster-test")
        project = await store.create_project("Scaled")
        app = await store.create_app(project.id, "Scaled app", "ios")
        return token, app.to_json()
    finally:
        await store.close()


def _bodies(devices: range, uploads: int) -> list[dict[str, Any]]:
    out = []
    for u in range(uploads):
        for d in devices:
            t = T0 + u * 1000
            events = [
                {
                    "id": f"dev-{d}-{u:03d}-{i}",
                    "name": "Tapped",
                    "type": "custom",
                    "timestamp": t + i,
                    "sessionId": f"s-{d}",
                    "properties": {"n": i},
                }
                for i in range(5)
            ]
            out.append(
                {
                    "device": {"deviceId": f"dev-{d}", "platform": "ios", "osVersion": "17.4"},
                    "user": {"userId": f"user-{d}"},
                    "sessions": [{"id": f"s-{d}", "counter": 1, "type": "cold", "startedAt": T0}],
                    "events": events,
                    "decisions": [],
                }
            )
    return out


class Uploader(threading.Thread):
    """Signed uploads in order, each retried with its request id until answered 200."""

    def __init__(self, base: str, app: dict[str, Any], bodies: list[dict[str, Any]]) -> None:
        super().__init__(daemon=True)
        self.base, self.app, self.bodies = base, app, bodies
        self.sent = 0

    def run(self) -> None:
        with httpx.Client(timeout=10) as client:
            for body in self.bodies:
                raw, request_id = orjson.dumps(body), str(uuid.uuid4())
                while True:
                    headers = signed_headers(self.app, raw, request_id, sign_request_id=False)
                    try:
                        r = client.post(f"{self.base}/api/v1/session", content=raw, headers=headers)
                        if r.status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    time.sleep(0.05)
                self.sent += 1


class Server:
    def __init__(self, db: str, log: str) -> None:
        self.db, self.log, self.port = db, log, free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: ServeProcess | None = None

    def start(self) -> None:
        options = ["--log", self.log, "--no-pipeline"]
        self.proc = start_serve(self.db, ENV, port=self.port, options=options)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop(timeout_s=20)
            self.proc = None


def _worker(db: str, log: str) -> subprocess.Popen[bytes]:
    args = ["worker", "--db", db, "--log", log, "--lease-ms", "1500", "--log-level", "warning"]
    return subprocess.Popen(
        [sys.executable, "-c", CLI, *args], env=ENV, stdout=subprocess.DEVNULL, stderr=None
    )


def _members(db: str) -> list[str]:
    """The pipeline processes (lease holders ``host:pid:random``), from the control plane."""

    async def read() -> list[str]:
        store = await open_store(db, server_key=SERVER_KEY)
        try:
            return [x.holder for x in await store.list_leases() if x.name.startswith(MEMBER_PREFIX)]
        finally:
            await store.close()

    return asyncio.run(read())


def _start_worker(db: str, log: str) -> subprocess.Popen[bytes]:
    """Start a worker and wait until it has joined, starting it again if it exits first (as a
    supervisor would: a process refuses to start while the log does not answer, as it may not
    for a moment after the stream was made or a node came back)."""
    for _ in range(3):
        worker = _worker(db, log)
        try:
            deadline = time.monotonic() + 60
            while worker.poll() is None and time.monotonic() < deadline:
                if any(f":{worker.pid}:" in m for m in _members(db)):
                    return worker
                time.sleep(0.2)
        except BaseException:
            worker.kill()  # not handed to the test yet: nothing else would stop it
            worker.wait()
            raise
        worker.kill()
        worker.wait()
    raise AssertionError("the worker did not join")


def _start_server(server: Server) -> None:
    """Start a server, again as a supervisor would if it exits at start-up."""
    for attempt in range(3):
        try:
            server.start()
            return
        except RuntimeError:
            if attempt == 2:
                raise


def _wait(predicate: Any, what: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _ids_in(directory: Path) -> set[str]:
    out: set[str] = set()
    for path in directory.glob("*/*"):
        if path.is_file():
            for line in path.read_bytes().splitlines():
                if line.strip():
                    out.add(orjson.loads(line)["event_id"])
    return out


def _insert_ids(amp: Standin) -> set[str]:
    return {str(e["insert_id"]) for e in amp.accepted}


def test_killing_a_nats_node_a_server_and_a_worker_loses_nothing(tmp_path: Path) -> None:
    cluster = Cluster(tmp_path / "nats")
    cluster.start_all()
    pg = backend_named("postgresql", tmp_path, "tidings_scale")
    backend = next(pg)
    stream = f"T_{uuid.uuid4().hex[:10]}"
    log = f"{cluster.url}?stream={stream}&subjects=scale&partitions=4"
    servers: list[Server] = []
    workers: list[subprocess.Popen[bytes]] = []
    amp = Standin()
    amp.__enter__()
    try:
        asyncio.run(_ready(cluster.url))
        token, app = asyncio.run(_bootstrap(backend.url, log))
        servers = [Server(backend.url, log), Server(backend.url, log)]
        for server in servers:
            _start_server(server)
        out = tmp_path / "sink"
        admin = {"Authorization": f"Bearer {token}"}
        made = httpx.post(
            f"{servers[0].base}/admin/api/apps/{app['appId']}/streams",
            json={"kind": "jsonl", "settings": {"directory": str(out)}},
            headers=admin,
        )
        assert made.status_code == 201, made.text
        made = httpx.post(
            f"{servers[0].base}/admin/api/apps/{app['appId']}/destinations",
            json={
                "kind": "amplitude",
                "name": "Amplitude",
                "settings": {"apiKey": "test-key", "endpoint": "north_america", "baseUrl": amp.url},
            },
            headers=admin,
        )
        assert made.status_code == 201, made.text
        for _ in range(2):
            workers.append(_start_worker(backend.url, log))

        halves = [_bodies(range(0, 4), 12), _bodies(range(4, 8), 12)]
        uploaders = [Uploader(s.base, app, b) for s, b in zip(servers, halves, strict=True)]
        for uploader in uploaders:
            uploader.start()
        _wait(lambda: all(u.sent >= 8 for u in uploaders), "the first uploads")
        _wait(lambda: amp.accepted, "the first events at Amplitude")  # delivery is under way
        cluster.kill(1)
        servers[1].kill()
        workers[1].kill()
        workers[1].wait(timeout=10)
        _wait(lambda: uploaders[0].sent >= 20, "uploads while a node is down")
        cluster.start(1)
        # As a readiness probe would: the node answers for the stream again before processes
        # that may connect to it first are started (they refuse to start on an unreachable log).
        asyncio.run(_ready(f"nats://127.0.0.1:{cluster.ports[1]}", stream))
        _start_server(servers[1])
        workers[1] = _start_worker(backend.url, log)
        for uploader in uploaders:
            uploader.join(timeout=180)
            assert not uploader.is_alive()

        expected = {e["id"] for half in halves for body in half for e in body["events"]}
        _wait(lambda: _ids_in(out) >= expected, "every event in the sink", seconds=120)
        _wait(lambda: _insert_ids(amp) >= expected, "every event at Amplitude", seconds=120)
        while workers:
            workers[-1].terminate()
            assert workers[-1].wait(timeout=30) == 0
            workers.pop()
    finally:
        for worker in workers:
            worker.kill()
            worker.wait()
        for server in servers:
            server.stop()
        cluster.stop_all()
        amp.__exit__()
        next(pg, None)

    records = read_jsonl_dir(out / app_directory_name(app["appId"]))
    first: dict[str, dict[str, Any]] = {}
    for record in records:
        copy = first.setdefault(record["event_id"], record)
        assert copy == record, "a duplicate must be an identical copy"
    assert set(first) == expected  # nothing lost, nothing foreign
    per_device: dict[str, list[int]] = {}
    for record in records:
        per_device.setdefault(record["client"]["client_id"], []).append(record["event_timestamp"])
    for stamps in per_device.values():
        firsts = list(dict.fromkeys(stamps))
        assert firsts == sorted(firsts)

    # Amplitude keeps one event per insert_id (the event id): what it accepted is every event
    # once, nothing foreign, each device's in the order the device logged them.
    accepted = amp.accepted
    assert sorted(str(e["insert_id"]) for e in accepted) == sorted(expected)
    at_amplitude: dict[str, list[int]] = {}
    for event in accepted:
        at_amplitude.setdefault(str(event["device_id"]), []).append(int(event["time"]))
    assert len(at_amplitude) == 8
    for device, times in at_amplitude.items():
        assert times == sorted(times), device
