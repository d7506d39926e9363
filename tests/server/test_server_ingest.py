"""The signed device endpoint: auth rules, idempotency, per-event judgement, limits."""

from __future__ import annotations

import gzip
import uuid
from collections.abc import AsyncIterator

import orjson
import pytest
from server_support import T0, Harness, event, harness, upload_body

from tidings.server.settings import ServerSettings

pytestmark = pytest.mark.anyio


async def test_valid_upload_is_stored_and_counted(srv: Harness) -> None:
    r = await srv.upload(upload_body(srv.app_id, [event("e-1"), event("e-2", name="Opened")]))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["accepted"] == 2
    assert body["duplicates"] == 0
    assert body["rejected"] == []
    assert body["serverTime"] == int(srv.clock[0] * 1000)
    assert r.headers["x-server-time"].isdigit()
    recent = await srv.store.recent_events(srv.app_id, 10)
    assert {rec.item_id for rec in recent} == {"e-1", "e-2"}
    payload = orjson.loads(recent[0].payload)
    assert payload["source"] == "sdk"
    assert payload["device"]["deviceId"] == "dev-1"
    assert payload["userId"] == "u-1"
    assert payload["session"] == {
        "id": "s-1",
        "counter": 1,
        "type": "cold",
        "startedAt": T0 - 60_000,
    }
    assert payload["customProperties"] == {"plan": "pro", "age": 31}


async def test_each_event_is_judged_alone(srv: Harness) -> None:
    events = [
        event("ok-1"),
        event("bad-name", name="SessionStarted"),  # a custom event may not use a system name
        event("bad-prop", properties={"nested": {"a": 1}}),
        "not an object",
        event("bad-ts", timestamp="yesterday"),
        {"id": "no-type", "name": "X", "timestamp": 1},
        event("ok-2", properties={}),
        event("bad-sys", type="system", name="MadeUp"),
        event(
            "bad-resolved",
            type="system",
            name="CampaignResolved",
            properties={"campaignId": "c", "result": "Maybe"},
        ),
    ]
    r = await srv.upload(upload_body(srv.app_id, events))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["accepted"] == 2
    rejected = {item["index"]: item for item in body["rejected"]}
    assert sorted(rejected) == [1, 2, 3, 4, 5, 7, 8]
    assert rejected[1]["field"] == "events[1].name"
    assert "reserved" in rejected[1]["message"]
    assert rejected[2]["field"] == "events[2].properties['nested']"
    assert rejected[3]["field"] == "events[3]"
    assert rejected[4]["field"] == "events[4].timestamp"
    assert rejected[5]["field"] == "events[5].type"
    assert rejected[7]["field"] == "events[7].name"
    assert rejected[8]["field"] == "events[8].properties.result"
    for item in body["rejected"]:
        assert item["code"] == "invalid_event"
        assert item["message"].startswith(item["field"])
    stored = {rec.item_id for rec in await srv.store.recent_events(srv.app_id, 50)}
    assert stored == {"ok-1", "ok-2"}


async def test_duplicate_event_ids_are_counted_not_stored_twice(srv: Harness) -> None:
    first = await srv.upload(upload_body(srv.app_id, [event("e-1"), event("e-1")]))
    assert first.json()["accepted"] == 1
    assert first.json()["duplicates"] == 1
    again = await srv.upload(upload_body(srv.app_id, [event("e-1"), event("e-3")]))
    assert again.json()["accepted"] == 1
    assert again.json()["duplicates"] == 1
    assert len(await srv.store.recent_events(srv.app_id, 50)) == 2


async def test_replayed_request_id_returns_the_first_response(srv: Harness) -> None:
    request_id = str(uuid.uuid4())
    body = orjson.dumps(upload_body(srv.app_id, [event("e-1")]))
    first = await srv.upload(body, request_id=request_id)
    assert first.status_code == 200
    srv.clock[0] += 30
    # The retry, signed afresh: the first response comes back, nothing is stored twice.
    second = await srv.upload(body, request_id=request_id)
    assert second.status_code == 200
    assert second.content == first.content
    assert second.headers["x-idempotent-replay"] == "true"
    assert int(second.headers["x-server-time"]) > int(first.headers["x-server-time"])
    assert [r.item_id for r in await srv.store.recent_events(srv.app_id, 50)] == ["e-1"]


@pytest.mark.parametrize("missing", ["X-Api-Key", "X-Signature", "X-Timestamp"])
async def test_missing_credentials_are_403(sq: Harness, missing: str) -> None:
    body = orjson.dumps(upload_body(sq.app_id, [event("e-1")]))
    headers = sq.signed_headers(body)
    del headers[missing]
    r = await sq.client.post("/api/v1/session", content=body, headers=headers)
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "missing_credentials"
    assert missing in r.json()["error"]["message"]


@pytest.mark.parametrize(
    ("request_id", "code"),
    [
        (None, "missing_request_id"),
        ("not-a-uuid", "invalid_request_id"),
        ("1234", "invalid_request_id"),
    ],
)
async def test_missing_or_malformed_request_id_is_409(
    sq: Harness, request_id: str | None, code: str
) -> None:
    body = orjson.dumps(upload_body(sq.app_id, [event("e-1")]))
    headers = sq.signed_headers(body)
    if request_id is None:
        del headers["X-Request-Id"]
    else:
        headers["X-Request-Id"] = request_id
    r = await sq.client.post("/api/v1/session", content=body, headers=headers)
    assert r.status_code == 409
    assert r.json()["error"]["code"] == code
    assert await sq.store.recent_events(sq.app_id, 5) == []


async def test_signature_rules(sq: Harness) -> None:
    payload = upload_body(sq.app_id, [event("e-1")])
    body = orjson.dumps(payload)

    headers = sq.signed_headers(body)
    tampered = body.replace(b"PurchaseCompleted", b"PurchaseComplete!")
    r = await sq.client.post("/api/v1/session", content=tampered, headers=headers)
    assert (r.status_code, r.json()["error"]["code"]) == (403, "invalid_signature")

    # The query string is part of what is signed.
    headers = sq.signed_headers(body)
    r = await sq.client.post("/api/v1/session?x=1", content=body, headers=headers)
    assert r.status_code == 403
    r = await sq.upload(body, path="/api/v1/session?x=1")
    assert r.status_code == 200, r.text

    # The timestamp is part of what is signed.
    headers = sq.signed_headers(body)
    headers["X-Timestamp"] = str(int(headers["X-Timestamp"]) + 1)
    r = await sq.client.post("/api/v1/session", content=body, headers=headers)
    assert r.status_code == 403

    # Another app's secret does not sign for this key.
    other = await sq.new_app()
    r = await sq.upload(body, secret=other["apiKeySecret"])
    assert (r.status_code, r.json()["error"]["code"]) == (403, "invalid_signature")

    r = await sq.upload(body, key="pk_unknown")
    assert (r.status_code, r.json()["error"]["code"]) == (403, "invalid_api_key")


async def test_timestamp_window_is_five_minutes(sq: Harness) -> None:
    now = int(sq.clock[0])
    for offset in (-300, 300):
        r = await sq.upload(upload_body(sq.app_id, [event(f"e{offset}")]), timestamp=now + offset)
        assert r.status_code == 200, r.text
    for offset in (-301, 301):
        r = await sq.upload(upload_body(sq.app_id, [event("late")]), timestamp=now + offset)
        assert r.status_code == 403
        assert r.json()["error"]["code"] == "stale_timestamp"
    r = await sq.upload(upload_body(sq.app_id, [event("late")]), timestamp=0)
    assert r.json()["error"]["code"] == "stale_timestamp"


async def test_key_kinds_never_cross_on_the_device_endpoint(sq: Harness) -> None:
    body = orjson.dumps(upload_body(sq.app_id, [event("e-1")]))
    for wrong in (sq.app["writeKey"], sq.admin_token, sq.project["dataImportKey"]):
        r = await sq.upload(body, key=wrong, secret=sq.app["apiKeySecret"])
        assert r.status_code == 403, wrong
    # The secret is not a public key either.
    r = await sq.upload(body, key=sq.app["apiKeySecret"])
    assert r.status_code == 403


async def test_rotated_keys_work_until_revoked(sq: Harness) -> None:
    r = await sq.client.post(f"/admin/api/apps/{sq.app_id}/keys", headers=sq.admin)
    assert r.status_code == 201
    pair = r.json()
    body = upload_body(sq.app_id, [event("e-new")])
    assert (
        await sq.upload(body, key=pair["apiKeyPublic"], secret=pair["apiKeySecret"])
    ).status_code == 200
    assert (await sq.upload(upload_body(sq.app_id, [event("e-old")]))).status_code == 200
    r = await sq.client.delete(
        f"/admin/api/apps/{sq.app_id}/keys/{sq.app['apiKeyPublic']}", headers=sq.admin
    )
    assert r.status_code == 200
    r = await sq.upload(upload_body(sq.app_id, [event("e-3")]))
    assert (r.status_code, r.json()["error"]["code"]) == (403, "invalid_api_key")
    r = await sq.client.delete(
        f"/admin/api/apps/{sq.app_id}/keys/{sq.app['apiKeyPublic']}", headers=sq.admin
    )
    assert r.status_code == 404


async def test_app_id_must_match_the_key(sq: Harness) -> None:
    other = await sq.new_app()
    r = await sq.upload(upload_body(other["appId"], [event("e-1")]))
    assert (r.status_code, r.json()["error"]["code"]) == (403, "app_mismatch")


async def test_more_than_1000_events_is_413(sq: Harness) -> None:
    events = [event(f"e-{i}") for i in range(1001)]
    r = await sq.upload(upload_body(sq.app_id, events))
    assert (r.status_code, r.json()["error"]["code"]) == (413, "too_many_events")
    r = await sq.upload(upload_body(sq.app_id, events[:1000]))
    assert r.status_code == 200
    assert r.json()["accepted"] == 1000


@pytest.fixture
async def small(sqlite_url: str) -> AsyncIterator[Harness]:
    def settings(clock: list[float]) -> ServerSettings:
        return ServerSettings(max_body_bytes=2048, clock=lambda: clock[0])

    async with harness(sqlite_url, settings) as h:
        yield h


async def test_oversized_body_is_413_before_parsing(small: Harness) -> None:
    garbage = b"{" * 4096  # not JSON: a parser would say 400, the limit says 413 first
    r = await small.upload(garbage)
    assert (r.status_code, r.json()["error"]["code"]) == (413, "payload_too_large")
    assert r.headers["x-server-time"].isdigit()


async def test_oversized_chunked_body_is_413(small: Harness) -> None:
    body = b"{" * 4096
    headers = small.signed_headers(body)

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(body), 512):
            yield body[i : i + 512]

    r = await small.client.post("/api/v1/session", content=chunks(), headers=headers)
    assert "content-length" not in r.request.headers
    assert (r.status_code, r.json()["error"]["code"]) == (413, "payload_too_large")


async def test_gzip_bomb_is_413(small: Harness) -> None:
    body = gzip.compress(b" " * 100_000)
    headers = small.signed_headers(body)
    headers["Content-Encoding"] = "gzip"
    r = await small.client.post("/api/v1/session", content=body, headers=headers)
    assert r.status_code == 413


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", "body"),
        (b"[]", "body"),
        (b"null", "body"),
        (b"", "body"),
        (b'{"device": {"deviceId": "d"}}', "events"),
        (b'{"device": {"deviceId": "d"}, "events": {}}', "events"),
        (b'{"events": []}', "device"),
        (b'{"device": "d", "events": []}', "device"),
        (b'{"device": {}, "events": []}', "device.deviceId"),
        (b'{"device": {"deviceId": 5}, "events": []}', "device.deviceId"),
        (b'{"device": {"deviceId": "d", "sdk": 1}, "events": []}', "device.sdk"),
        (b'{"device": {"deviceId": "d"}, "events": [], "dropped": -1}', "dropped"),
        (b'{"device": {"deviceId": "d"}, "events": [], "dropped": "3"}', "dropped"),
        (b'{"device": {"deviceId": "d"}, "events": [], "user": []}', "user"),
        (b'{"device": {"deviceId": "d"}, "events": [], "user": {"userId": 1}}', "user.userId"),
        (
            b'{"device": {"deviceId": "d"}, "events": [],'
            b' "user": {"customProperties": {"a": null}}}',
            "user.customProperties['a']",
        ),
        (b'{"appId": 7, "device": {"deviceId": "d"}, "events": []}', "appId"),
    ],
)
async def test_malformed_bodies_are_400_naming_the_field(
    sq: Harness, body: bytes, field: str
) -> None:
    r = await sq.upload(body)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["message"].startswith(field), error
    assert error["code"]


async def test_decisions_are_stored_deduplicated_and_counted(srv: Harness) -> None:
    await srv.store.create_campaign(srv.app_id, {"id": "c-1", "name": "Welcome"})
    decision = {
        "id": "d-1",
        "campaignId": "c-1",
        "status": "SUCCESS",
        "treatmentId": "0",
        "source": "PurchaseCompleted",
        "eventId": "e-1",
        "timestamp": 1_700_000_000_000,
    }
    shown = event(
        "e-2",
        type="system",
        name="CampaignShown",
        properties={"source": "PurchaseCompleted", "campaignId": "c-1"},
    )
    body = upload_body(
        srv.app_id,
        [event("e-1"), shown],
        decisions=[decision, {**decision, "id": "d-2", "status": "lower"}, decision],
    )
    r = await srv.upload(body)
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["decisions"]["accepted"] == 1
    assert result["decisions"]["duplicates"] == 1
    assert [d["field"] for d in result["decisions"]["rejected"]] == ["decisions[1].status"]
    stats = await srv.store.campaign_stats("c-1")
    assert stats.decisions == {"SUCCESS": 1}
    assert stats.shown == 1


async def test_time_endpoint_and_server_time_on_every_response(sq: Harness) -> None:
    r = await sq.client.get("/api/v1/time")
    assert r.json() == {"serverTime": int(sq.clock[0] * 1000)}
    assert r.headers["x-server-time"] == str(int(sq.clock[0] * 1000))
    for response in (
        await sq.client.get("/nowhere"),
        await sq.client.put("/api/v1/time"),
        await sq.client.post("/api/v1/session"),
    ):
        assert 400 <= response.status_code < 500
        assert "x-server-time" in response.headers
        assert set(response.json()["error"]) == {"code", "message"}


async def test_replay_wins_even_over_a_body_that_no_longer_parses(sq: Harness) -> None:
    """The same bytes are answered from the stored response, even once the rules that judge
    them changed (here: the server clock went back, and the event now lies in its future)."""
    request_id = str(uuid.uuid4())
    body = orjson.dumps(upload_body(sq.app_id, [event("e-1")]))
    first = await sq.upload(body, request_id=request_id)
    assert first.json()["accepted"] == 1
    sq.clock[0] = T0 / 1000 - 365 * 86_400
    again = await sq.upload(body, request_id=request_id)
    assert again.status_code == 200
    assert again.content == first.content


async def test_a_reused_request_id_with_another_body_is_409(srv: Harness) -> None:
    request_id = str(uuid.uuid4())
    first = await srv.upload(upload_body(srv.app_id, [event("e-1")]), request_id=request_id)
    assert first.status_code == 200
    for other in (upload_body(srv.app_id, [event("e-2")]), b"{broken"):
        r = await srv.upload(other, request_id=request_id)
        assert r.status_code == 409, r.text
        assert r.json()["error"]["code"] == "request_id_reused"
        assert r.json()["error"]["message"].startswith("X-Request-Id")
    assert [e.item_id for e in await srv.store.recent_events(srv.app_id)] == ["e-1"]
    fresh = await srv.upload(upload_body(srv.app_id, [event("e-2")]))
    assert fresh.json()["accepted"] == 1


async def test_the_signature_covers_the_request_id(sq: Harness) -> None:
    body = orjson.dumps(upload_body(sq.app_id, [event("e-1")]))
    headers = sq.signed_headers(body)
    headers["X-Request-Id"] = str(uuid.uuid4())  # another id under the same signature
    r = await sq.client.post("/api/v1/session", content=body, headers=headers)
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "invalid_signature"
    assert await sq.store.recent_events(sq.app_id) == []


async def test_the_older_signature_without_the_request_id_is_still_accepted(sq: Harness) -> None:
    r = await sq.upload(upload_body(sq.app_id, [event("e-1")]), legacy_signature=True)
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 1


async def test_concurrent_retries_store_once_and_answer_alike(srv: Harness) -> None:
    import asyncio

    request_id = str(uuid.uuid4())
    body = orjson.dumps(upload_body(srv.app_id, [event(f"c-{i}") for i in range(50)]))
    responses = await asyncio.gather(*(srv.upload(body, request_id=request_id) for _ in range(5)))
    assert {r.status_code for r in responses} == {200}
    assert len({r.content for r in responses}) == 1
    assert responses[0].json()["accepted"] == 50
    assert len(await srv.store.recent_events(srv.app_id, 100)) == 50
