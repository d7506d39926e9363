"""OpenAPI, health, metrics, and the last-resort error handler."""

from __future__ import annotations

import time
import uuid

import httpx
import orjson
import pytest
from server_support import SERVER_KEY, Harness, event, harness, upload_body

from tidings.server import sign
from tidings.server.app import ROUTES, create_app
from tidings.storage import open_store

pytestmark = pytest.mark.anyio


async def test_openapi_lists_every_route(sq: Harness) -> None:
    doc = (await sq.client.get("/openapi.json")).json()
    assert doc["openapi"] == "3.1.0"
    listed = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    assert len(listed) == len(ROUTES)
    assert ("POST", "/api/v1/session") in listed
    assert ("DELETE", "/admin/api/apps/{appId}/keys/{apiKeyPublic}") in listed
    assert ("POST", "/partners/amplitude/cohorts/users") in listed
    session = doc["paths"]["/api/v1/session"]["post"]
    assert session["security"] == [{"signature": []}]
    assert "signature" in doc["components"]["securitySchemes"]


async def test_healthz_reports_the_store(sqlite_url: str) -> None:
    store = await open_store(sqlite_url, server_key=bytes(32))
    app = create_app(store)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        r = await c.get("/healthz")
        assert (r.status_code, r.json()) == (200, {"status": "ok"})
        await store.close()
        r = await c.get("/healthz")
        assert r.status_code == 503
        assert r.json()["error"]["code"] == "store_unreachable"


async def test_metrics_count_requests_and_items(sq: Harness) -> None:
    await sq.upload(upload_body(sq.app_id, [event("e-1"), event("bad", name="")]))
    await sq.client.get("/nowhere")
    text = (await sq.client.get("/metrics")).text
    assert (
        'tidings_http_requests_total{method="POST",route="/api/v1/session",status="200"} 1' in text
    )
    assert 'route="unmatched",status="404"' in text
    assert 'tidings_ingested_items_total{source="sdk",kind="event",outcome="accepted"} 1' in text
    assert 'tidings_ingested_items_total{source="sdk",kind="event",outcome="rejected"} 1' in text
    assert "tidings_http_request_duration_seconds_bucket" in text


async def test_an_unexpected_error_is_a_logged_json_500(
    sq: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    app = sq.client._transport.app  # type: ignore[attr-defined]

    async def boom(_request: object) -> None:
        raise RuntimeError("kaboom")

    app.router.add_route("/boom", boom)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        r = await c.get("/boom")
    assert r.status_code == 500
    assert r.json()["error"]["code"] == "internal_error"
    assert "x-server-time" in r.headers
    assert "kaboom" in caplog.text


async def test_openapi_references_resolve(sq: Harness) -> None:
    doc = (await sq.client.get("/openapi.json")).json()
    schemas = doc["components"]["schemas"]
    refs: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                refs.append(ref)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)
    assert refs
    for ref in refs:
        assert ref.startswith("#/components/schemas/")
        assert ref.removeprefix("#/components/schemas/") in schemas, ref
    upload = doc["paths"]["/api/v1/session"]["post"]
    assert upload["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("Upload")
    manifest = doc["paths"]["/api/v1/config"]["get"]["responses"]["2XX"]
    assert manifest["content"]["application/json"]["schema"]["$ref"].endswith("Manifest")


async def test_a_wrong_server_key_is_a_503_not_a_crash(sqlite_url: str) -> None:
    async with harness(sqlite_url) as h:
        app_creds = h.app
        body = upload_body(h.app_id, [event("e-1")])
    store = await open_store(sqlite_url, server_key=SERVER_KEY)
    store.use_server_key(bytes(range(1, 33)))  # not the sealing key (open_store would refuse it)
    try:
        app = create_app(store)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as client:
            raw = orjson.dumps(body)
            ts = str(int(time.time()))
            r = await client.post(
                "/api/v1/session",
                content=raw,
                headers={
                    "X-Api-Key": app_creds["apiKeyPublic"],
                    "X-Timestamp": ts,
                    "X-Request-Id": str(uuid.uuid4()),
                    "X-Signature": sign(
                        app_creds["apiKeySecret"], "POST", "/api/v1/session", raw, ts
                    ),
                },
            )
            assert r.status_code == 503
            assert r.json()["error"]["code"] == "store_unavailable"
    finally:
        await store.close()
