"""``tidings serve`` as a real uvicorn process on 127.0.0.1, driven by real clients.

The unmodified ``segment-analytics-python`` library (pointed at the server with ``host``) sends
every call type, in sync mode and in its default background-thread mode with gzip; a signed
device upload goes over a real socket too.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest
from segment.analytics import Client

from loopback import start_serve
from tidings.server.auth import sign
from tidings.storage import open_store

SERVER_KEY = bytes(range(32, 64))


@dataclass
class Served:
    base: str
    admin: dict[str, str]
    app: dict[str, Any]
    first_start_output: str


async def _bootstrap(url: str) -> tuple[str, dict[str, Any]]:
    store = await open_store(url, server_key=SERVER_KEY)
    try:
        token = await store.create_admin_token("serve-test")
        project = await store.create_project("Served")
        creds = await store.create_app(project.id, "Served app", "ios")
        return token, creds.to_json()
    finally:
        await store.close()


@pytest.fixture
def served(db_url: str) -> Iterator[Served]:
    env = {**os.environ, "TIDINGS_SECRET_KEY": SERVER_KEY.hex()}
    served = start_serve(db_url, env)  # first start: creates the database
    try:
        token, app = asyncio.run(_bootstrap(db_url))
        output = "".join(served.log)
        yield Served(served.base, {"Authorization": f"Bearer {token}"}, app, output)
    finally:
        served.stop()


def _recent(s: Served, n: int = 50) -> list[dict[str, Any]]:
    r = httpx.get(
        f"{s.base}/admin/api/apps/{s.app['appId']}/events/recent?limit={n}", headers=s.admin
    )
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def test_serve_end_to_end(served: Served) -> None:
    s = served
    assert "tidings apps create" in s.first_start_output
    r = httpx.get(f"{s.base}/healthz")
    assert r.status_code == 200
    assert "x-server-time" in r.headers
    assert httpx.get(f"{s.base}/openapi.json").json()["openapi"].startswith("3.")

    # a signed device upload over a real socket
    body = orjson.dumps(
        {
            "appId": s.app["appId"],
            "device": {"deviceId": "dev-1"},
            "events": [
                {
                    "id": "e-1",
                    "name": "Opened",
                    "type": "custom",
                    "timestamp": int(time.time() * 1000),
                    "sessionId": None,
                }
            ],
        }
    )
    ts = str(int(time.time()))
    headers = {
        "X-Api-Key": s.app["apiKeyPublic"],
        "X-Timestamp": ts,
        "X-Request-Id": str(uuid.uuid4()),
        "X-Signature": sign(s.app["apiKeySecret"], "POST", "/api/v1/session", body, ts),
        "Content-Type": "application/json",
    }
    r = httpx.post(f"{s.base}/api/v1/session", content=body, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 1
    r = httpx.post(f"{s.base}/api/v1/session", content=body, headers=headers)
    assert r.headers["x-idempotent-replay"] == "true"

    # the unmodified Segment library, sync mode
    errors: list[Any] = []
    client = Client(
        s.app["writeKey"], host=s.base, sync_mode=True, on_error=lambda e, b: errors.append(e)
    )
    client.track("u-1", "Order Completed", {"revenue": 12.5, "products": [{"sku": "x"}]})
    client.identify("u-1", {"email": "a@example.com"})
    client.group("u-1", "g-1", {"plan": "team"})
    client.alias("anon-1", "u-1")
    client.page("u-1", "Docs", "Home", {"path": "/"})
    client.screen("u-1", "App", "Settings")
    assert errors == []

    # default mode: background thread, gzip, batches
    threaded = Client(
        s.app["writeKey"], host=s.base, gzip=True, on_error=lambda e, b: errors.append(e)
    )
    for i in range(25):
        threaded.track(anonymous_id="anon-2", event="Clicked", properties={"i": i})
    threaded.flush()
    threaded.join()
    assert errors == []

    names = [e["name"] for e in _recent(s, 100)]
    assert names.count("Clicked") == 25
    for expected in (
        "Order Completed",
        "$identify",
        "$groupidentify",
        "$alias",
        "Viewed Home",
        "Viewed Settings",
        "Opened",
    ):
        assert expected in names, expected

    # a bad write key is refused and reported to the library's error hook
    bad = Client("wk_wrong", host=s.base, sync_mode=True, on_error=lambda e, b: errors.append(e))
    with pytest.raises(Exception, match="401"):
        bad.track("u-1", "Nope")

    metrics = httpx.get(f"{s.base}/metrics").text
    assert 'tidings_http_requests_total{method="POST",route="/v1/batch",status="200"}' in metrics
