"""Hostile requests: wrong credentials, tampering, replays, injection strings, oversize bodies.

Each refusal is checked twice: the status and error code the contract names, and the store
afterwards (nothing written, the request id not remembered). Strings built to break a query
are accepted where they are valid data and must come back byte for byte.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from server_support import Harness, event, harness, upload_body

from tidings.server.settings import ServerSettings

INJECTIONS = (
    "'; DROP TABLE events; --",
    "'; DROP TABLE event_log; --",
    '" OR 1=1 --',
    "' OR '1'='1",
    "Robert'); DELETE FROM request_responses; --",
    "\\'; SELECT pg_sleep(10); --",
    "%s %s %s ?? $1",
)
HUGE_UNICODE = "\U0001f600\u202e\u0301\ufeff日本語" * 200  # 1,400 code points, 4-byte ones

pytestmark = pytest.mark.anyio


def basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


async def _event_count(h: Harness) -> int:
    return len(await h.store.read_log(0, 100_000))


async def _assert_nothing_stored(h: Harness, request_id: str | None = None) -> None:
    assert await _event_count(h) == 0
    if request_id is not None:
        assert await h.store.stored_response(h.app_id, request_id) is None


def _code(r: Any) -> tuple[int, str]:
    return r.status_code, r.json()["error"]["code"]


async def test_keys_of_another_kind_are_refused_everywhere(srv: Harness) -> None:
    body = orjson.dumps(upload_body(srv.app_id, [event("e-1")]))
    write_key = srv.app["writeKey"]
    for wrong in (write_key, srv.admin_token):
        r = await srv.upload(body, key=wrong)
        assert _code(r) == (403, "invalid_api_key")
    # The right public key signed with a write key or admin token as the secret.
    for wrong in (write_key, srv.admin_token):
        r = await srv.upload(body, secret=wrong)
        assert _code(r) == (403, "invalid_signature")
    track = {"type": "track", "event": "Bought", "userId": "u-1", "messageId": "m-1"}
    for wrong in (srv.app["apiKeyPublic"], srv.app["apiKeySecret"], srv.admin_token):
        r = await srv.client.post("/v1/track", json=track, headers=basic(wrong))
        assert r.status_code == 401, r.text
    for wrong in (srv.app["apiKeyPublic"], srv.app["apiKeySecret"], write_key):
        r = await srv.client.get(
            "/admin/api/projects", headers={"Authorization": f"Bearer {wrong}"}
        )
        assert r.status_code == 401, r.text
    await _assert_nothing_stored(srv)


async def test_bad_signature_and_stale_timestamp_store_nothing(srv: Harness) -> None:
    body = orjson.dumps(upload_body(srv.app_id, [event("e-1")]))
    request_id = str(uuid.uuid4())

    headers = srv.signed_headers(body, request_id=request_id)
    headers["X-Signature"] = headers["X-Signature"][::-1]
    r = await srv.client.post("/api/v1/session", content=body, headers=headers)
    assert _code(r) == (403, "invalid_signature")

    headers = srv.signed_headers(body, request_id=request_id)
    r = await srv.client.post("/api/v1/session", content=body + b" ", headers=headers)
    assert _code(r) == (403, "invalid_signature")

    for skew in (-301, 301, -(10**9)):
        r = await srv.upload(body, timestamp=int(srv.clock[0]) + skew, request_id=request_id)
        assert _code(r) == (403, "stale_timestamp")
    await _assert_nothing_stored(srv, request_id)

    # None of the refusals claimed the request id: the genuine request is processed.
    r = await srv.upload(body, request_id=request_id)
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 1
    assert "x-idempotent-replay" not in r.headers


async def test_a_replayed_request_id_never_stores_the_new_body(srv: Harness) -> None:
    request_id = str(uuid.uuid4())
    first = await srv.upload(upload_body(srv.app_id, [event("e-1")]), request_id=request_id)
    assert first.status_code == 200
    other = upload_body(srv.app_id, [event("e-2"), event("e-3")])
    again = await srv.upload(other, request_id=request_id)
    assert _code(again) == (409, "request_id_reused")
    stored = [r.item_id for r in await srv.store.read_log(0)]
    assert stored == ["e-1"]


@pytest.mark.parametrize(
    "value", ["' OR 1=1 --", "'; DROP TABLE api_keys; --", "k" * 300], ids=["or", "drop", "long"]
)
async def test_injection_in_credential_headers_is_refused(sq: Harness, value: str) -> None:
    body = orjson.dumps(upload_body(sq.app_id, [event("e-1")]))
    r = await sq.upload(body, key=value)
    assert _code(r) == (403, "invalid_api_key")
    headers = sq.signed_headers(body)
    headers["X-Request-Id"] = value
    r = await sq.client.post("/api/v1/session", content=body, headers=headers)
    assert _code(r) == (409, "invalid_request_id")
    r = await sq.client.post("/v1/track", json={"type": "track"}, headers=basic(value))
    assert r.status_code == 401
    r = await sq.client.get("/admin/api/projects", headers={"Authorization": f"Bearer {value}"})
    assert r.status_code == 401
    await _assert_nothing_stored(sq)
    assert len(await sq.store.list_projects()) == 1


def _hostile_upload(app_id: str, text: str) -> dict[str, Any]:
    """``text`` in every string field of an upload the contract lets hold free text."""
    short = text[:255]
    return {
        "appId": app_id,
        "device": {
            "deviceId": short,
            "platform": short,
            "osVersion": short,
            "model": short,
            "locale": short,
            "sdk": {"name": short, "version": short},
        },
        "user": {"userId": short, "customProperties": {short: text[:1024]}},
        "sessions": [{"id": short[:128], "counter": 1, "type": "cold", "startedAt": 1}],
        "events": [
            {
                "id": short[:128],
                "name": short,
                "type": "custom",
                "timestamp": 1_700_000_000_000,
                "sessionId": short[:128],
                "properties": {short: text[:1024], "plain": short},
            }
        ],
        "decisions": [
            {
                "id": short[:128],
                "campaignId": short[:128],
                "status": "SUCCESS",
                "treatmentId": short,
                "source": short,
                "eventId": short,
                "timestamp": 1_700_000_000_000,
            }
        ],
    }


@pytest.mark.parametrize("text", [*INJECTIONS, HUGE_UNICODE], ids=lambda t: f"len{len(t)}-{t[:6]}")
async def test_injection_strings_are_stored_verbatim(srv: Harness, text: str) -> None:
    body = _hostile_upload(srv.app_id, text)
    campaign_id = body["decisions"][0]["campaignId"]
    await srv.store.create_campaign(srv.app_id, {"id": campaign_id, "name": "hostile"})
    r = await srv.upload(body)
    assert r.status_code == 200, r.text
    result = r.json()
    assert (result["accepted"], result["rejected"]) == (1, [])
    assert result["decisions"]["accepted"] == 1

    records = {r.kind: r for r in await srv.store.read_log(0)}
    assert set(records) == {"event", "decision"}
    stored = orjson.loads(records["event"].payload)
    assert stored["event"] == body["events"][0]
    assert stored["device"] == body["device"]
    assert stored["userId"] == body["user"]["userId"]
    assert stored["customProperties"] == body["user"]["customProperties"]
    assert records["event"].item_id == body["events"][0]["id"]
    assert records["event"].name == body["events"][0]["name"]
    assert records["event"].device_id == body["device"]["deviceId"]
    assert orjson.loads(records["decision"].payload)["decision"] == body["decisions"][0]

    r = await srv.client.get(f"/admin/api/apps/{srv.app_id}/events", headers=srv.admin)
    names = {(e["name"], e["count"]) for e in r.json()["items"]}
    assert (body["events"][0]["name"], 1) in names
    r = await srv.client.get(f"/admin/api/apps/{srv.app_id}/properties", headers=srv.admin)
    assert {"key": text[:255], "type": "string"} in r.json()["items"]

    # The same request again is a replay, and a new request with the same ids a duplicate.
    again = await srv.upload(body)
    assert (again.json()["accepted"], again.json()["duplicates"]) == (0, 1)
    assert len(await srv.store.read_log(0)) == 2


async def test_injection_strings_in_segment_and_admin_fields_round_trip(srv: Harness) -> None:
    text = INJECTIONS[0]
    message = {
        "type": "track",
        "event": text,
        "userId": text,
        "anonymousId": text,
        "messageId": text,
        "properties": {text: text},
        "context": {"library": {"name": text}},
    }
    r = await srv.client.post("/v1/track", json=message, headers=basic(srv.app["writeKey"]))
    assert r.status_code == 200, r.text
    (record,) = await srv.store.read_log(0)
    assert (record.item_id, record.name, record.user_id, record.device_id) == (text,) * 4
    stored = orjson.loads(record.payload)
    assert stored["message"]["properties"] == {text: text}

    r = await srv.client.post("/admin/api/projects", json={"name": text}, headers=srv.admin)
    assert r.status_code == 201, r.text
    r = await srv.client.get(f"/admin/api/projects/{r.json()['id']}", headers=srv.admin)
    assert r.json()["name"] == text
    r = await srv.client.get(f"/admin/api/projects/{text}", headers=srv.admin)
    assert r.status_code == 404


async def test_nul_is_refused_per_item_and_nothing_of_it_stored(srv: Harness) -> None:
    body = upload_body(
        srv.app_id,
        [event("e-ok"), event("e-nul", properties={"x": "a\x00b"}), event("e\x00id")],
    )
    r = await srv.upload(body)
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["accepted"] == 1
    assert [x["index"] for x in result["rejected"]] == [1, 2]
    assert [r.item_id for r in await srv.store.read_log(0)] == ["e-ok"]

    # In the envelope (shared by every event) it refuses the whole request.
    request_id = str(uuid.uuid4())
    body = upload_body(srv.app_id, [event("e-2")])
    body["device"]["deviceId"] = "dev\x00"
    r = await srv.upload(body, request_id=request_id)
    assert _code(r) == (400, "invalid_text")
    assert await srv.store.stored_response(srv.app_id, request_id) is None
    assert len(await srv.store.read_log(0)) == 1

    r = await srv.client.post(
        "/v1/batch",
        json={"batch": [{"type": "track", "event": "A\x00", "userId": "u", "messageId": "m-1"}]},
        headers=basic(srv.app["writeKey"]),
    )
    assert r.status_code == 200
    assert r.json()["rejected"][0]["index"] == 0
    assert len(await srv.store.read_log(0)) == 1


async def test_strings_over_the_limits_reject_only_their_item(sq: Harness) -> None:
    body = upload_body(
        sq.app_id,
        [
            event("e-ok"),
            event("e-long-value", properties={"x": HUGE_UNICODE * 10}),
            event("e-long-name", name="N" * 256),
            event("x" * 129),
        ],
    )
    r = await sq.upload(body)
    assert r.status_code == 200
    assert [x["index"] for x in r.json()["rejected"]] == [1, 2, 3]
    assert [r.item_id for r in await sq.store.read_log(0)] == ["e-ok"]


@pytest.fixture
async def small(sqlite_url: str) -> AsyncIterator[Harness]:
    def settings(clock: list[float]) -> ServerSettings:
        return ServerSettings(max_body_bytes=4096, clock=lambda: clock[0])

    async with harness(sqlite_url, settings) as h:
        yield h


async def test_oversize_bodies_are_413_and_store_nothing(small: Harness) -> None:
    events = [event(f"e-{i}", properties={"pad": "x" * 200}) for i in range(40)]
    body = orjson.dumps(upload_body(small.app_id, events))
    assert len(body) > 4096
    request_id = str(uuid.uuid4())
    r = await small.upload(body, request_id=request_id)
    assert _code(r) == (413, "payload_too_large")

    headers = small.signed_headers(body, request_id=request_id)

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(body), 700):
            yield body[i : i + 700]

    r = await small.client.post("/api/v1/session", content=chunks(), headers=headers)
    assert "content-length" not in r.request.headers
    assert _code(r) == (413, "payload_too_large")

    batch = {"batch": [{"type": "track", "event": "E", "userId": "u", "properties": {}}] * 80}
    r = await small.client.post("/v1/batch", json=batch, headers=basic(small.app["writeKey"]))
    assert _code(r) == (413, "payload_too_large")
    await _assert_nothing_stored(small, request_id)
