"""Bounded catalogs over HTTP: past an app's limit, events with a new name are refused item by
item (device uploads and Segment batches) and named in the response; known names keep working;
new custom-property keys stop being catalogued; the dashboard says the catalog is full."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import pytest
from server_support import Harness, event, harness, upload_body

from tidings.server.settings import ServerSettings
from tidings.storage import CatalogLimits

pytestmark = pytest.mark.anyio

LIMITS = CatalogLimits(event_names=3, property_keys=2)


@pytest.fixture
async def small(db_url: str) -> AsyncIterator[Harness]:
    def settings(clock: list[float]) -> ServerSettings:
        return ServerSettings(clock=lambda: clock[0], catalog_limits=LIMITS)

    async with harness(db_url, settings) as h:
        yield h


def basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


async def test_uploads_past_the_limit_are_refused_item_by_item(small: Harness) -> None:
    events = [
        event("e0", "Opened"),
        event("e1", "Bought"),
        {"id": "bad", "name": "", "type": "custom", "timestamp": 1},  # invalid: index 2
        event("e3", "Shared"),
        event("e4", "Liked"),  # the fourth name: refused
        event("e5", "Opened"),
        event("e6", "Liked"),
    ]
    body = upload_body(small.app_id, events)
    request_id = "0b7c3a52-6f1e-4e53-9a57-1c1b2d9f7e01"
    r = await small.upload(body, request_id=request_id)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert (answer["accepted"], answer["duplicates"]) == (4, 0)
    assert [(x["index"], x["code"], x["field"]) for x in answer["rejected"]] == [
        (2, "invalid_event", "events[2].name"),
        (4, "catalog_full", "events[4].name"),
        (6, "catalog_full", "events[6].name"),
    ]
    assert answer["rejected"][1]["message"] == (
        "events[4].name: new event name 'Liked' refused: this app's events catalog is full "
        "(3 names); names already in it keep working"
    )
    stored = {r.item_id for r in await small.store.recent_events(small.app_id, 100)}
    assert stored == {"e0", "e1", "e3", "e5"}
    # A retry with the same request id is answered byte for byte; known names keep working.
    again = await small.upload(body, request_id=request_id)
    assert again.content == r.content
    r = await small.upload(upload_body(small.app_id, [event("e7", "Bought"), event("e8", "New")]))
    assert r.json()["accepted"] == 1
    assert [x["index"] for x in r.json()["rejected"]] == [1]
    metrics = (await small.client.get("/metrics")).text
    assert 'tidings_ingested_items_total{source="sdk",kind="event",outcome="rejected"} 4' in (
        metrics
    )


async def test_segment_messages_past_the_limit_are_refused(small: Harness) -> None:
    h = basic(small.app["writeKey"])
    for name in ("A", "B", "C"):
        r = await small.client.post(
            "/v1/track", json={"userId": "u", "event": name, "messageId": f"m-{name}"}, headers=h
        )
        assert r.status_code == 200, r.text
    r = await small.client.post(
        "/v1/track", json={"userId": "u", "event": "D", "messageId": "m-D"}, headers=h
    )
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "catalog_full"
    assert r.json()["error"]["message"].startswith("event: new event name 'D' refused")
    r = await small.client.post(
        "/v1/batch",
        json={
            "batch": [
                {"type": "track", "userId": "u", "event": "A", "messageId": "b-1"},
                {"type": "track", "userId": "u", "event": 5, "messageId": "b-2"},
                {"type": "screen", "anonymousId": "x", "name": "Home", "messageId": "b-3"},
                {"type": "track", "userId": "u", "event": "E", "messageId": "b-4"},
            ]
        },
        headers=h,
    )
    assert r.status_code == 200, r.text
    assert [(x["index"], x["code"], x["field"]) for x in r.json()["rejected"]] == [
        (1, "invalid_message", "batch[1].event"),
        (2, "catalog_full", "batch[2].name"),
        (3, "catalog_full", "batch[3].event"),
    ]
    stored = {r.item_id for r in await small.store.recent_events(small.app_id, 100)}
    assert stored == {"m-A", "m-B", "m-C", "b-1"}


async def test_property_keys_past_the_limit_are_not_catalogued(small: Harness) -> None:
    body = upload_body(small.app_id, [event("e0")])
    body["user"]["customProperties"] = {"plan": "pro", "age": 31, "city": "Oslo"}
    r = await small.upload(body)
    assert r.json()["accepted"] == 1 and r.json()["rejected"] == []
    r = await small.client.get(f"/admin/api/apps/{small.app_id}/properties", headers=small.admin)
    assert [p["key"] for p in r.json()["items"]] == ["age", "plan"]
    (record,) = await small.store.recent_events(small.app_id, 10)
    assert b'"city":"Oslo"' in record.payload  # the value still travels with the event


async def test_the_catalog_page_says_when_it_is_full(small: Harness) -> None:
    await small.upload(upload_body(small.app_id, [event(f"e{i}", f"n{i}") for i in range(3)]))
    r = await small.client.post("/signin", data={"token": small.admin_token, "next": "/"})
    assert r.status_code == 303
    page = (await small.client.get(f"/apps/{small.app_id}/events")).text
    assert "its limit of 3: events with a new name are refused" in page
    assert "custom-property keys, its limit of 2" in page
