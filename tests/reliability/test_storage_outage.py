"""Storage outages: every request the database cannot serve is a 503 with ``Retry-After``, never
a 500; ``/healthz`` follows the writer; the log gets one line per change of state.

PostgreSQL: a real ``tidings serve`` reaches the shared server through a TCP proxy of the
test's own, whose backends are terminated (found by the proxy's client ports) under load, and
which then refuses connections for a while. SQLite (in process): the disk fills up (a page
limit on the writer's connection: the same ``database or disk is full`` a full disk gives) and
the file turns read-only (the writer's next connection opens it ``mode=ro``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg
import pytest
from segment import analytics
from server_support import PG_BASE, Harness, event, upload_body
from tcp_proxy import TcpProxy

from loopback import ServeProcess, start_serve
from tidings.server.auth import sign
from tidings.storage import open_store
from tidings.storage import sqlite as sqlite_backend

pytestmark = pytest.mark.reliability
anyio = pytest.mark.anyio

SERVER_KEY = bytes(range(100, 132))


# --------------------------------------------------------------------------- SQLite, in process


def _events(prefix: str, n: int) -> list[dict[str, Any]]:
    return [event(f"{prefix}-{i}", properties={"blob": "x" * 1000}) for i in range(n)]


def _failures(caplog: pytest.LogCaptureFixture) -> tuple[int, int, list[str]]:
    """(writes-failing lines, writes-work-again lines, records that carry a traceback)."""
    messages = [r.getMessage() for r in caplog.records if r.name == "tidings.storage"]
    tracebacks = [r.getMessage() for r in caplog.records if r.exc_info]
    return (
        sum("writes failing" in m for m in messages),
        sum("writes work again" in m for m in messages),
        tracebacks,
    )


async def _assert_unavailable(sq: Harness, body: dict[str, Any], request_id: str) -> None:
    for _ in range(3):
        r = await sq.upload(body, request_id=request_id)
        assert r.status_code == 503, r.text
        assert r.headers["retry-after"] == "5"
        assert r.json()["error"]["code"] == "store_unavailable"
    health = await sq.client.get("/healthz")
    assert health.status_code == 503
    assert health.headers["retry-after"] == "5"
    assert health.json()["error"]["code"] == "store_unreachable"


@pytest.fixture
def writer_fault(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """A fault every writer connection opened from now on has: ``"full"`` (no page may be
    added: SQLite's ``database or disk is full``) or ``"read-only"`` (the file opened
    ``mode=ro``); ``None`` for none. :func:`_inject` gives the open connection the same."""
    fault: list[str | None] = [None]
    connect = sqlite_backend._connect

    def faulty(path: Path, *, writer: bool) -> sqlite3.Connection:
        if writer and fault[0] == "read-only":
            conn = sqlite3.connect(
                f"file:{path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA busy_timeout = 30000")
            return conn
        conn = connect(path, writer=writer)
        if writer and fault[0] == "full":
            conn.execute(f"PRAGMA max_page_count = {_pages(conn)}")
        return conn

    monkeypatch.setattr(sqlite_backend, "_connect", faulty)
    return fault


def _pages(conn: Any) -> int:
    return int(conn.execute("PRAGMA page_count").fetchone()[0])


async def _inject(sq: Harness, fault: list[str | None], kind: str) -> None:
    fault[0] = kind
    engine = sq.store.engine  # type: ignore[attr-defined]
    if kind == "full":
        await engine.write(lambda tx: tx.execute(f"PRAGMA max_page_count = {_pages(tx.conn)}"))
    else:  # the open connection stops writing, and the writer reconnects read-only
        await engine.write(lambda tx: tx.execute("PRAGMA query_only = ON"))


@anyio
@pytest.mark.parametrize("kind", ["full", "read-only"])
async def test_sqlite_disk_full_or_read_only_is_503_until_a_write_succeeds(
    sq: Harness, writer_fault: list[str | None], kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    assert (await sq.upload(upload_body(sq.app_id, _events("a", 5)))).status_code == 200
    await _inject(sq, writer_fault, kind)

    body, request_id = upload_body(sq.app_id, _events("b", 50)), str(uuid.uuid4())
    await _assert_unavailable(sq, body, request_id)
    # The health probe writes too, and fails the same way however often it is asked.
    await asyncio.sleep(1.05)
    assert (await sq.client.get("/healthz")).status_code == 503

    # Space again (writable again): the next probe, with no client writing, finds it out.
    writer_fault[0] = None
    await asyncio.sleep(1.05)
    assert (await sq.client.get("/healthz")).status_code == 200
    r = await sq.upload(body, request_id=request_id)
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 50
    failing, recovered, tracebacks = _failures(caplog)
    assert (failing, recovered, tracebacks) == (1, 1, [])


# --------------------------------------------------------------------------- PostgreSQL, serve


def _terminate_backends(proxy: TcpProxy) -> int:
    """Terminate the PostgreSQL backends serving connections through ``proxy`` (only those)."""
    ports = proxy.upstream_ports()
    if not ports:
        return 0
    with psycopg.connect(PG_BASE, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE client_addr = '127.0.0.1' AND client_port = ANY(%s)",
            (ports,),
        ).fetchall()
    return len(rows)


class _Device:
    """Signs uploads like the SDK; keeps what the server acknowledged."""

    def __init__(self, base: str, app: dict[str, Any]) -> None:
        self.base = base
        self.app = app
        self.acknowledged: set[str] = set()
        self.statuses: list[int] = []
        self.retry_after: set[str | None] = set()

    def upload(self, ids: list[str], request_id: str | None = None) -> httpx.Response:
        now = int(time.time() * 1000)
        body = orjson.dumps(
            {
                "device": {"deviceId": "outage"},
                "events": [
                    {"id": i, "name": "Tick", "type": "custom", "timestamp": now, "properties": {}}
                    for i in ids
                ],
            }
        )
        ts, path = str(now // 1000), "/api/v1/session"
        headers = {
            "X-Api-Key": self.app["apiKeyPublic"],
            "X-Timestamp": ts,
            "X-Request-Id": request_id or str(uuid.uuid4()),
            "X-Signature": sign(self.app["apiKeySecret"], "POST", path, body, ts),
        }
        r = httpx.post(self.base + path, content=body, headers=headers, timeout=30)
        self.statuses.append(r.status_code)
        if r.status_code == 200:
            self.acknowledged.update(ids)
        else:
            self.retry_after.add(r.headers.get("retry-after"))
        return r


@pytest.fixture
def pg_behind_proxy(pg_url: str) -> Iterator[tuple[str, TcpProxy]]:
    proxy = TcpProxy(("127.0.0.1", 5432))
    host = PG_BASE.rsplit("@", 1)[1].split("/", 1)[0]
    try:
        yield pg_url.replace(f"@{host}/", f"@127.0.0.1:{proxy.port}/"), proxy
    finally:
        proxy.close()


async def _new_app(url: str) -> dict[str, Any]:
    store = await open_store(url, server_key=SERVER_KEY)
    try:
        project = await store.create_project("Outage")
        return (await store.create_app(project.id, "Outage app", "ios")).to_json()
    finally:
        await store.close()


async def _stored_ids(url: str, app_id: str) -> set[str]:
    store = await open_store(url, server_key=SERVER_KEY)
    try:
        return {r.item_id for r in await store.recent_events(app_id, 10_000)}
    finally:
        await store.close()


def _segment_track_during_outage(server: ServeProcess, write_key: str) -> threading.Thread:
    """An unmodified Segment library sends one message and flushes; it must wait out the 503s
    (it honours ``Retry-After``) and deliver it once the database is back."""
    client = analytics.Client(write_key, host=server.base, upload_interval=0.05, timeout=10)

    def send() -> None:
        client.track(user_id="u-1", event="Outage Survived", message_id="seg-outage-1")
        client.flush()
        client.join()

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


def test_postgresql_outage_is_503_and_healthz_follows_it(
    pg_url: str, pg_behind_proxy: tuple[str, TcpProxy]
) -> None:
    proxied, proxy = pg_behind_proxy
    app = asyncio.run(_new_app(pg_url))
    env = {**os.environ, "TIDINGS_SECRET_KEY": SERVER_KEY.hex()}
    server = start_serve(proxied, env, options=["--no-pipeline"])
    try:
        device = _Device(server.base, app)
        assert device.upload(["warm-up"]).status_code == 200

        # Backends terminated under load: each answer is a 200 or a 503, never a 500.
        stop = time.monotonic() + 2.0
        terminated = 0

        def load(worker: int) -> None:
            n = 0
            while time.monotonic() < stop:
                device.upload([f"load-{worker}-{n}-{i}" for i in range(20)])
                n += 1

        workers = [threading.Thread(target=load, args=(w,)) for w in range(4)]
        for w in workers:
            w.start()
        while time.monotonic() < stop:
            terminated += _terminate_backends(proxy)
            time.sleep(0.15)
        for w in workers:
            w.join()
        assert terminated > 0
        assert set(device.statuses) <= {200, 503}, sorted(set(device.statuses))
        assert device.retry_after <= {"5"}

        # The database refuses connections: 503 with Retry-After, /healthz 503.
        proxy.refuse()
        segment_thread = _segment_track_during_outage(server, app["writeKey"])
        request_id = str(uuid.uuid4())
        for _ in range(3):
            r = device.upload(["during"], request_id=request_id)
            assert r.status_code == 503, r.text
            assert r.headers["retry-after"] == "5"
            assert r.json()["error"]["code"] == "store_unavailable"
        health = httpx.get(server.base + "/healthz", timeout=30)
        assert health.status_code == 503, health.text
        time.sleep(1.0)  # the Segment library has been refused at least once

        # Back: /healthz recovers by its own probe, before any client writes.
        proxy.restore()
        deadline = time.monotonic() + 15
        while httpx.get(server.base + "/healthz", timeout=30).status_code != 200:
            assert time.monotonic() < deadline, "healthz did not recover"
            time.sleep(0.2)
        assert device.upload(["during"], request_id=request_id).status_code == 200
        segment_thread.join(30)
        assert not segment_thread.is_alive()
    finally:
        server.stop()

    stored = asyncio.run(_stored_ids(pg_url, app["appId"]))
    assert device.acknowledged <= stored, "an acknowledged event is missing"
    log = "".join(server.log)
    assert "Traceback" not in log, log
    assert log.count("writes failing") >= 1
    assert log.count("writes failing") == log.count("writes work again"), log
    assert "seg-outage-1" in stored, "the Segment library gave up on its message"
