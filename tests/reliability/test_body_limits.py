"""Segment sources, admin bodies and compressed bodies at and past their limits.

Out-of-range Segment times and messages nested too deep are refused message by message (a
batch keeps its other messages); single calls and admin bodies are a 400 naming the field;
bodies whose sender is unknown are bounded before they are inflated or parsed; a gzip body
is one member and nothing after it.
"""

from __future__ import annotations

import base64
import gzip
import threading
from typing import Any

import orjson
import pytest
from json_shapes import deep_json, nested, with_raw
from server_support import Harness, event, upload_body
from starlette.requests import Request

from tidings.server.body import OFF_LOOP_BYTES, off_loop

pytestmark = [pytest.mark.reliability, pytest.mark.anyio]


def basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def _track(message_id: str, **extra: Any) -> dict[str, Any]:
    return {"type": "track", "userId": "u-1", "event": "Played", "messageId": message_id, **extra}


async def _stored(h: Harness) -> set[str]:
    return {r.item_id for r in await h.store.recent_events(h.app_id, 1000)}


async def test_segment_times_out_of_range_are_refused_message_by_message(sq: Harness) -> None:
    batch = [
        _track("ok"),
        _track("year-1", timestamp="0001-01-01T00:00:00+01:00"),
        _track("year-10000", timestamp="9999-12-31T23:59:59-01:00"),
        _track("skew", originalTimestamp="9999-12-31T00:00:00Z", sentAt="0001-01-01T00:00:00Z"),
        _track("before-2000", timestamp="1999-12-31T23:59:59Z"),
        _track("ok-2", timestamp="2024-05-01T10:00:00Z"),
    ]
    r = await sq.client.post("/v1/batch", json={"batch": batch}, headers=basic(sq.app["writeKey"]))
    assert r.status_code == 200, r.text
    rejected = {x["index"]: x for x in r.json()["rejected"]}
    assert {i: x["field"] for i, x in rejected.items()} == {
        1: "batch[1].timestamp",
        2: "batch[2].timestamp",
        3: "batch[3].originalTimestamp",
        4: "batch[4].timestamp",
    }
    assert "sentAt" in rejected[3]["message"]
    assert await _stored(sq) == {"ok", "ok-2"}

    single = await sq.client.post(
        "/v1/track",
        json=_track("single", timestamp="0001-01-01T00:00:00+01:00"),
        headers=basic(sq.app["writeKey"]),
    )
    assert single.status_code == 400, single.text
    assert single.json()["error"]["message"].startswith("timestamp")


async def test_one_deep_segment_message_does_not_fail_the_others(sq: Harness) -> None:
    batch = [
        _track("ok-1"),
        _track("deep-props", properties="DEEP"),
        {"type": "identify", "userId": "u-2", "messageId": "deep-traits", "traits": nested(31)},
        _track("at-limit", properties=nested(29)),
        _track("ok-2"),
    ]
    body = with_raw({"batch": batch}, "DEEP", deep_json(300))
    r = await sq.client.post(
        "/v1/batch",
        content=body,
        headers={**basic(sq.app["writeKey"]), "Content-Type": "application/json"},
    )
    assert r.status_code == 200, r.text
    rejected = {x["index"]: x["field"] for x in r.json()["rejected"]}
    assert sorted(rejected) == [1, 2]
    assert rejected[1].startswith("batch[1].properties.a.a")
    assert rejected[2].startswith("batch[2].traits.a")
    assert await _stored(sq) == {"ok-1", "at-limit", "ok-2"}

    envelope = {"batch": [_track("ok-3")], "context": nested(32)}
    r = await sq.client.post("/v1/batch", json=envelope, headers=basic(sq.app["writeKey"]))
    assert (r.status_code, r.json()["error"]["code"]) == (400, "too_deep")
    assert r.json()["error"]["message"].startswith("context.a")


@pytest.mark.parametrize(
    ("path", "field"),
    [("/v1/track", "properties"), ("/v1/identify", "traits"), ("/v1/page", "properties")],
)
async def test_single_segment_calls_nested_too_deep_are_400(
    sq: Harness, path: str, field: str
) -> None:
    message = {"userId": "u-1", "event": "Played", "name": "Home", field: "DEEP"}
    r = await sq.client.post(
        path,
        content=with_raw(message, "DEEP", deep_json(300)),
        headers={**basic(sq.app["writeKey"]), "Content-Type": "application/json"},
    )
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "too_deep"
    assert r.json()["error"]["message"].startswith(f"{field}.a.a")
    assert await _stored(sq) == set()


async def test_admin_bodies_nested_too_deep_are_400(sq: Harness) -> None:
    campaign = {
        "name": "Deep",
        "type": "DeepLink",
        "triggering": {"event": {"name": "Opened", "type": "custom", "params": []}},
        "targeting": [],
        "content": {"url": "myapp://x", "extra": "DEEP"},
    }
    destination = {"kind": "amplitude", "appIds": [sq.app_id], "settings": {"apiKey": "DEEP"}}
    for path, body in (
        (f"/admin/api/apps/{sq.app_id}/campaigns", campaign),
        ("/admin/api/destinations", destination),
        (f"/admin/api/apps/{sq.app_id}/destinations", destination),
    ):
        r = await sq.client.post(
            path,
            content=with_raw(body, "DEEP", deep_json(300)),
            headers={**sq.admin, "Content-Type": "application/json"},
        )
        assert r.status_code == 400, (path, r.text)
        assert r.json()["error"]["code"] == "too_deep"
    assert await sq.store.list_campaigns(sq.app_id) == []


async def test_unauthenticated_bodies_are_bounded_before_they_are_parsed(sq: Harness) -> None:
    # No write key anywhere in the text: refused without parsing it (it is not even JSON).
    r = await sq.client.post("/v1/batch", content=b'{"batch": [' + b"1," * 1000)
    assert (r.status_code, r.json()["error"]["code"]) == (401, "missing_credentials")
    # A compression bomb inflates no further than the smaller unauthenticated limit.
    bomb = gzip.compress(b'{"writeKey": "x", "batch": [' + b" " * 4_000_000 + b"]}")
    assert len(bomb) < 16_000
    r = await sq.client.post("/v1/batch", content=bomb, headers={"Content-Encoding": "gzip"})
    assert r.status_code == 413, r.text
    assert "Authorization" in r.json()["error"]["message"]
    # With HTTP Basic the key is checked before the body is even inflated.
    r = await sq.client.post(
        "/v1/batch",
        content=b"not gzip at all",
        headers={**basic("wk_nope"), "Content-Encoding": "gzip"},
    )
    assert (r.status_code, r.json()["error"]["code"]) == (401, "invalid_write_key")
    # A write key in the body still works, as Segment's HTTP API allows.
    body = {"writeKey": sq.app["writeKey"], "batch": [_track("keyed")]}
    r = await sq.client.post("/v1/batch", json=body)
    assert r.status_code == 200, r.text
    assert await _stored(sq) == {"keyed"}


async def test_gzip_bodies_are_one_member_with_nothing_after_it(sq: Harness) -> None:
    one = gzip.compress(orjson.dumps({"batch": [_track("first")]}))
    two = gzip.compress(orjson.dumps({"batch": [_track("second")]}))
    headers = {**basic(sq.app["writeKey"]), "Content-Encoding": "gzip"}
    for body in (one + two, one + b"trailing", one + b"\0"):
        r = await sq.client.post("/v1/batch", content=body, headers=headers)
        assert (r.status_code, r.json()["error"]["code"]) == (400, "invalid_body"), r.text
        assert "after the end of the gzip stream" in r.json()["error"]["message"]
    upload = orjson.dumps(upload_body(sq.app_id, [event("e-1")]))
    signed = sq.signed_headers(gzip.compress(upload) + b"x")
    r = await sq.client.post(
        "/api/v1/session",
        content=gzip.compress(upload) + b"x",
        headers={**signed, "Content-Encoding": "gzip"},
    )
    assert (r.status_code, r.json()["error"]["code"]) == (400, "invalid_body")
    assert await _stored(sq) == set()
    r = await sq.client.post("/v1/batch", content=one, headers=headers)
    assert r.status_code == 200
    assert await _stored(sq) == {"first"}


def _request(headers: dict[str, str]) -> Request:
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }
    return Request(scope)


async def test_large_and_compressed_bodies_are_parsed_off_the_event_loop() -> None:
    loop_thread = threading.current_thread()

    def where() -> threading.Thread:
        return threading.current_thread()

    small, large = b"x" * OFF_LOOP_BYTES, b"x" * (OFF_LOOP_BYTES + 1)
    assert await off_loop(_request({}), small, where) is loop_thread
    assert await off_loop(_request({}), large, where) is not loop_thread
    gzipped = _request({"Content-Encoding": "gzip"})
    assert await off_loop(gzipped, b"tiny", where) is not loop_thread
