"""Crash safety: ``kill -9`` the server under load, restart it, let clients retry.

Several clients upload signed 20-event requests over real sockets to a ``tidings serve``
process. Part-way through, the process is killed with SIGKILL (no shutdown, no flush) and
started again on the same database. Every client retries an unanswered request with the same
request id and the same body until it gets a 200, as the SDK does. Afterwards every event of
every acknowledged request must be in the store exactly once, and the ``accepted`` counts the
clients were told must add up to the number of stored events (an attempt whose commit landed
before the kill is answered on retry with the stored first response, not counted twice).
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import pytest

from loopback import ServeProcess, signed_headers, start_serve
from tidings.server.auth import sign
from tidings.storage import EventIn, open_store

pytestmark = [pytest.mark.slow, pytest.mark.reliability]

SERVER_KEY = bytes(range(64, 96))
CLIENTS = 6
REQUESTS_PER_CLIENT = 25
EVENTS_PER_REQUEST = 20


class _Server:
    """A ``tidings serve`` subprocess that can be killed and started again."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.env = {**os.environ, "TIDINGS_SECRET_KEY": SERVER_KEY.hex()}
        self.proc: ServeProcess | None = None
        self.base = ""

    def start(self) -> None:
        self.proc = start_serve(self.url, self.env)
        self.base = self.proc.base

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()
        self.proc = None


@dataclass
class _Ledger:
    """What the clients were told."""

    acknowledged: set[str] = field(default_factory=set)
    accepted: int = 0
    duplicates: int = 0
    responses: dict[str, tuple[bytes, bytes]] = field(default_factory=dict)
    """request id -> (body, response body)"""
    retries: int = 0
    done: int = 0


async def _bootstrap(url: str) -> dict[str, Any]:
    store = await open_store(url, server_key=SERVER_KEY)
    try:
        project = await store.create_project("Crash")
        creds = await store.create_app(project.id, "Crash app", "ios")
        return creds.to_json()
    finally:
        await store.close()


async def _stored_ids(url: str, app_id: str) -> list[str]:
    store = await open_store(url, server_key=SERVER_KEY)
    try:
        ids: list[str] = []
        after = 0
        while True:
            page = await store.read_log(after, 1000)
            if not page:
                return ids
            ids += [r.item_id for r in page if r.app_id == app_id and r.kind == "event"]
            after = page[-1].seq
    finally:
        await store.close()


def _body(app_id: str, client: int, n: int) -> tuple[bytes, list[str]]:
    ids = [f"c{client}-r{n}-e{i}-{uuid.uuid4().hex[:8]}" for i in range(EVENTS_PER_REQUEST)]
    events = [
        {
            "id": event_id,
            "name": "ItemViewed",
            "type": "custom",
            "timestamp": 1_700_000_000_000 + i,
            "sessionId": None,
            "properties": {"client": client, "n": n},
        }
        for i, event_id in enumerate(ids)
    ]
    body = {"appId": app_id, "device": {"deviceId": f"dev-{client}"}, "events": events}
    return orjson.dumps(body), ids


async def _client(
    server: _Server, app: dict[str, Any], client: int, ledger: _Ledger, deadline: float
) -> None:
    path = "/api/v1/session"
    async with httpx.AsyncClient(timeout=5.0) as http:
        for n in range(REQUESTS_PER_CLIENT):
            body, ids = _body(app["appId"], client, n)
            request_id = str(uuid.uuid4())
            while True:
                assert time.monotonic() < deadline, "clients did not finish after the restart"
                headers = signed_headers(app, body, request_id, path=path)
                try:
                    r = await http.post(server.base + path, content=body, headers=headers)
                except httpx.TransportError:
                    ledger.retries += 1
                    await asyncio.sleep(0.05)
                    continue
                if r.status_code >= 500:  # a server shutting down may answer 5xx: retry too
                    ledger.retries += 1
                    await asyncio.sleep(0.05)
                    continue
                assert r.status_code == 200, r.text
                result = r.json()
                assert result["rejected"] == []
                assert result["accepted"] + result["duplicates"] == EVENTS_PER_REQUEST
                ledger.acknowledged.update(ids)
                ledger.accepted += result["accepted"]
                ledger.duplicates += result["duplicates"]
                ledger.responses[request_id] = (body, r.content)
                ledger.done += 1
                break


async def _run(server: _Server, app: dict[str, Any], ledger: _Ledger) -> None:
    deadline = time.monotonic() + 90
    tasks = [asyncio.create_task(_client(server, app, c, ledger, deadline)) for c in range(CLIENTS)]
    total = CLIENTS * REQUESTS_PER_CLIENT
    # Kill once a third of the requests are acknowledged: clients are mid-flight then.
    while ledger.done < total // 3:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.005)
    await asyncio.to_thread(server.kill)
    await asyncio.sleep(0.2)  # clients now hit a closed port and retry
    await asyncio.to_thread(server.start)
    await asyncio.gather(*tasks)


@pytest.fixture
def crash_server(db_url: str) -> Iterator[tuple[_Server, dict[str, Any]]]:
    server = _Server(db_url)
    server.start()
    try:
        app = asyncio.run(_bootstrap(db_url))
        yield server, app
    finally:
        server.stop()


def test_kill_9_under_load_loses_and_duplicates_nothing(
    crash_server: tuple[_Server, dict[str, Any]],
) -> None:
    server, app = crash_server
    ledger = _Ledger()
    asyncio.run(_run(server, app, ledger))

    total_events = CLIENTS * REQUESTS_PER_CLIENT * EVENTS_PER_REQUEST
    assert ledger.done == CLIENTS * REQUESTS_PER_CLIENT
    assert len(ledger.acknowledged) == total_events
    assert ledger.retries > 0, "the kill happened after every client had finished"

    stored = asyncio.run(_stored_ids(server.url, app["appId"]))
    assert len(stored) == len(set(stored)), "an event was stored twice"
    assert set(stored) == ledger.acknowledged, "an acknowledged event is missing"
    # Each event was reported accepted exactly once, whatever the retries.
    assert ledger.accepted == total_events
    assert ledger.duplicates == 0

    # The server that came back answers a replay of a request acknowledged before the kill
    # with the first response, byte for byte.
    request_id, (body, first) = next(iter(ledger.responses.items()))
    ts = str(int(time.time()))
    r = httpx.post(
        server.base + "/api/v1/session",
        content=body,
        headers={
            "X-Api-Key": app["apiKeyPublic"],
            "X-Timestamp": ts,
            "X-Request-Id": request_id,
            "X-Signature": sign(app["apiKeySecret"], "POST", "/api/v1/session", body, ts),
        },
    )
    assert r.status_code == 200
    assert r.headers["x-idempotent-replay"] == "true"
    assert r.content == first


def test_chunked_oversize_body_over_a_real_socket_is_413(sqlite_url: str) -> None:
    """No Content-Length: uvicorn streams the chunks and the limit (5 MB) stops the read."""
    server = _Server(sqlite_url)
    server.start()
    try:
        app = asyncio.run(_bootstrap(sqlite_url))
        port = int(server.base.rsplit(":", 1)[1])
        chunk = b"x" * 65_536
        ts = str(int(time.time()))
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.putrequest("POST", "/api/v1/session")
        for name, value in {
            "Content-Type": "application/json",
            "Transfer-Encoding": "chunked",
            "X-Api-Key": app["apiKeyPublic"],
            "X-Timestamp": ts,
            "X-Request-Id": str(uuid.uuid4()),
            "X-Signature": "0" * 64,
        }.items():
            conn.putheader(name, value)
        conn.endheaders()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            for _ in range(6 * 1024 * 1024 // len(chunk) + 1):
                conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            conn.send(b"0\r\n\r\n")
        response = conn.getresponse()
        assert response.status == 413
        assert orjson.loads(response.read())["error"]["code"] == "payload_too_large"
        conn.close()
        assert asyncio.run(_stored_ids(sqlite_url, app["appId"])) == []
    finally:
        server.stop()


async def _grouped_ingests(url: str) -> tuple[list[list[bool]], list[str], int]:
    """Overlapping ingests forced into one write group: later jobs see earlier jobs' rows."""
    store = await open_store(url, server_key=SERVER_KEY)
    try:
        project = await store.create_project("Group")
        app_id = (await store.create_app(project.id, "Group app", "ios")).app_id
        batches = [["a", "b"], ["b", "c", "c"], ["a", "b", "c"], ["d"], ["d", "e"]]

        def items(ids: list[str]) -> list[EventIn]:
            return [EventIn(i, "Viewed", "custom", 1, b'{"id":"%s"}' % i.encode()) for i in ids]

        engine = store.engine  # type: ignore[attr-defined]
        engine.hold()
        tasks = [
            asyncio.create_task(store.ingest(app_id, items(ids), arrival_ms=1)) for ids in batches
        ]
        await asyncio.sleep(0.05)  # every job is queued before the writer may start
        engine.release()
        results = await asyncio.gather(*tasks)
        largest = engine.stats.largest_group
        stored = [r.item_id for r in await store.read_log(0) if r.app_id == app_id]
        flags = [list(r.outcome.events) for r in results if r.outcome is not None]
        return flags, stored, largest
    finally:
        await store.close()


def test_duplicates_inside_one_write_group_are_reported_per_item(db_url: str) -> None:
    flags, stored, largest = asyncio.run(_grouped_ingests(db_url))
    assert flags == [
        [True, True],
        [False, True, False],
        [False, False, False],
        [True],
        [False, True],
    ]
    assert sorted(stored) == ["a", "b", "c", "d", "e"]
    assert largest == 5, "the five ingests did not share one write group"
