"""Segment-compatible sources over ASGI: auth, message rules, batches, dedup on messageId."""

from __future__ import annotations

import base64
import gzip

import orjson
import pytest
from server_support import Harness

pytestmark = pytest.mark.anyio


def basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


async def test_each_call_type_is_stored(srv: Harness) -> None:
    h = basic(srv.app["writeKey"])
    calls = {
        "track": {
            "userId": "u-1",
            "event": "Order Completed",
            "properties": {"revenue": 10, "products": [{"sku": "a"}]},
            "messageId": "m-1",
            "timestamp": "2024-01-02T03:04:05.678Z",
        },
        "identify": {"userId": "u-1", "traits": {"email": "a@b.c"}, "messageId": "m-2"},
        "group": {"userId": "u-1", "groupId": "g-1", "traits": {"plan": "x"}, "messageId": "m-3"},
        "alias": {"userId": "u-1", "previousId": "anon-1", "messageId": "m-4"},
        "page": {
            "anonymousId": "anon-1",
            "name": "Home",
            "properties": {"path": "/"},
            "messageId": "m-5",
        },
        "screen": {"anonymousId": "anon-1", "messageId": "m-6"},
    }
    for kind, message in calls.items():
        r = await srv.client.post(f"/v1/{kind}", json=message, headers=h)
        assert r.status_code == 200, (kind, r.text)
        assert r.json() == {"success": True}
    records = {r.item_id: r for r in await srv.store.recent_events(srv.app_id, 20)}
    names = {k: v.name for k, v in records.items()}
    assert names == {
        "m-1": "Order Completed",
        "m-2": "$identify",
        "m-3": "$groupidentify",
        "m-4": "$alias",
        "m-5": "Viewed Home",
        "m-6": "Loaded a Screen",
    }
    track = orjson.loads(records["m-1"].payload)
    assert track["source"] == "segment"
    assert track["message"]["properties"]["products"] == [{"sku": "a"}]  # as it came
    assert track["message"]["type"] == "track"
    assert records["m-1"].timestamp == 1704164645678
    assert records["m-1"].user_id == "u-1"
    assert records["m-5"].device_id == "anon-1"


async def test_message_id_is_the_dedup_key(sq: Harness) -> None:
    h = basic(sq.app["writeKey"])
    message = {"userId": "u", "event": "E", "messageId": "same"}
    for _ in range(3):
        assert (await sq.client.post("/v1/track", json=message, headers=h)).status_code == 200
    assert len(await sq.store.recent_events(sq.app_id, 10)) == 1
    # without a messageId the server makes one per message
    for _ in range(2):
        await sq.client.post("/v1/track", json={"userId": "u", "event": "E"}, headers=h)
    assert len(await sq.store.recent_events(sq.app_id, 10)) == 3


async def test_write_key_auth(sq: Harness) -> None:
    message = {"userId": "u", "event": "E"}
    r = await sq.client.post("/v1/track", json=message)
    assert r.status_code == 401
    for wrong in (sq.admin_token, sq.app["apiKeyPublic"], sq.app["apiKeySecret"], "wk_nope"):
        r = await sq.client.post("/v1/track", json=message, headers=basic(wrong))
        assert r.status_code == 401, wrong
    r = await sq.client.post(
        "/v1/track", json=message, headers={"Authorization": f"Bearer {sq.app['writeKey']}"}
    )
    assert r.status_code == 401
    r = await sq.client.post("/v1/track", json=message, headers={"Authorization": "Basic %%%"})
    assert r.status_code == 401
    # Segment also accepts the write key in the body
    r = await sq.client.post("/v1/track", json={**message, "writeKey": sq.app["writeKey"]})
    assert r.status_code == 200
    stored = orjson.loads((await sq.store.recent_events(sq.app_id, 1))[0].payload)
    assert "writeKey" not in stored["message"]


@pytest.mark.parametrize(
    ("kind", "message", "field"),
    [
        ("track", {"userId": "u"}, "event"),
        ("track", {"userId": "u", "event": ""}, "event"),
        ("track", {"event": "E"}, "userId"),
        ("track", {"userId": "u", "event": "E", "properties": []}, "properties"),
        ("track", {"userId": "u", "event": "E", "timestamp": "soon"}, "timestamp"),
        ("track", {"userId": "u", "event": "E", "type": "page"}, "type"),
        ("track", {"userId": {"a": 1}, "event": "E"}, "userId"),
        ("identify", {"anonymousId": "a", "traits": "x"}, "traits"),
        ("group", {"userId": "u"}, "groupId"),
        ("alias", {"userId": "u"}, "previousId"),
        ("page", {"userId": "u", "name": 3}, "name"),
        ("screen", {"userId": "u", "context": 1}, "context"),
    ],
)
async def test_invalid_messages_are_400_naming_the_field(
    sq: Harness, kind: str, message: dict[str, object], field: str
) -> None:
    r = await sq.client.post(f"/v1/{kind}", json=message, headers=basic(sq.app["writeKey"]))
    assert r.status_code == 400, r.text
    assert r.json()["error"]["message"].startswith(field), r.text


async def test_batch_is_judged_message_by_message(srv: Harness) -> None:
    body = {
        "batch": [
            {"type": "track", "userId": "u", "event": "A", "messageId": "b-1"},
            {"type": "shout", "userId": "u"},
            {"type": "identify", "userId": "u", "traits": {"x": 1}, "messageId": "b-2"},
            "nope",
            {"type": "track", "userId": "u", "messageId": "b-3"},
        ],
        "context": {"library": {"name": "test"}},
        "sentAt": "2024-01-01T00:00:10Z",
    }
    r = await srv.client.post("/v1/batch", json=body, headers=basic(srv.app["writeKey"]))
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["success"] is True
    assert [(x["index"], x["field"]) for x in result["rejected"]] == [
        (1, "batch[1].type"),
        (3, "batch[3]"),
        (4, "batch[4].event"),
    ]
    records = await srv.store.recent_events(srv.app_id, 10)
    assert {r.item_id for r in records} == {"b-1", "b-2"}
    message = orjson.loads(next(r for r in records if r.item_id == "b-1").payload)["message"]
    assert message["context"] == {"library": {"name": "test"}}


async def test_batch_envelope_errors(sq: Harness) -> None:
    h = basic(sq.app["writeKey"])
    for body in ({}, {"batch": {}}, {"batch": None}):
        r = await sq.client.post("/v1/batch", json=body, headers=h)
        assert r.status_code == 400
        assert r.json()["error"]["message"].startswith("batch")
    r = await sq.client.post("/v1/batch", content=b"{oops", headers=h)
    assert r.status_code == 400


async def test_skew_correction_and_gzip(sq: Harness) -> None:
    received = int(sq.clock[0] * 1000)
    body = {
        "batch": [
            {
                "type": "track",
                "userId": "u",
                "event": "E",
                "messageId": "g-1",
                "originalTimestamp": "2024-01-01T00:00:00.000Z",
            }
        ],
        "sentAt": "2024-01-01T00:00:05.000Z",
    }
    headers = {
        **basic(sq.app["writeKey"]),
        "Content-Encoding": "gzip",
        "Content-Type": "application/json",
    }
    r = await sq.client.post(
        "/v1/batch", content=gzip.compress(orjson.dumps(body)), headers=headers
    )
    assert r.status_code == 200, r.text
    record = (await sq.store.recent_events(sq.app_id, 1))[0]
    assert record.timestamp == received - 5000
    r = await sq.client.post("/v1/batch", content=b"not gzip", headers=headers)
    assert r.status_code == 400
    r = await sq.client.post(
        "/v1/batch", content=b"{}", headers={**headers, "Content-Encoding": "br"}
    )
    assert r.status_code == 415
