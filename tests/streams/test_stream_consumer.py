"""The stream driven from the real event log (SQLite store) through a named consumer cursor.

Uploads go through the server's own upload parser and payload builder, so the records are built
from exactly what the server stores.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
import pytest

from tidings.core.bounds import TimeRange
from tidings.server.ingest import build_items
from tidings.server.upload import parse_upload
from tidings.storage import EventIn, Store, open_store
from tidings.streams.consumer import StreamConsumer
from tidings.streams.fromlog import records_from_payload
from tidings.streams.jsonl import JsonlSink, app_directory_name, read_jsonl_dir

KEY = bytes(range(32))
T0 = 1_764_300_000_000


def upload_body(n: int, start: int = 0) -> dict[str, Any]:
    events: list[dict[str, Any]] = []
    decisions: list[dict[str, Any]] = []
    if start == 0:
        events.append(
            {
                "id": "evt-start",
                "name": "SessionStarted",
                "type": "system",
                "timestamp": T0,
                "sessionId": "s-1",
                "properties": {"type": "cold"},
            }
        )
    for i in range(start, start + n):
        events.append(
            {
                "id": f"evt-{i:05d}",
                "name": "PurchaseCompleted" if i % 10 == 0 else "Tapped",
                "type": "custom",
                "timestamp": T0 + 10 + i,
                "sessionId": "s-1",
                "properties": {"price": 1.5, "productId": "gem"} if i % 10 == 0 else {"n": i},
            }
        )
        if i % 10 == 0:
            decisions.append(
                {
                    "id": f"dec-{i:05d}",
                    "campaignId": "c-1",
                    "status": "SUCCESS",
                    "treatmentId": "0",
                    "source": "PurchaseCompleted",
                    "eventId": f"evt-{i:05d}",
                    "timestamp": T0 + 10 + i,
                }
            )
    return {
        "device": {
            "deviceId": "dev-1",
            "platform": "iOS",
            "osVersion": "17.2",
            "appVersion": "3.1.0",
            "locale": "en_US",
            "model": "iPhone15,2",
            "manufacturer": "Apple",
            "sdk": {"name": "tidings-python", "version": "0.1.0"},
        },
        "user": {"userId": "u-1", "customProperties": {}},
        "sessions": [{"id": "s-1", "counter": 1, "type": "cold", "startedAt": T0, "endedAt": None}],
        "events": events,
        "decisions": decisions,
    }


async def ingest(store: Store, app_id: str, body: dict[str, Any], arrival: int) -> None:
    upload = parse_upload(body, app_id, 1000, window=TimeRange().at(T0))
    assert not upload.rejected and not upload.rejected_decisions
    events, decisions = build_items(upload)
    await store.ingest(app_id, events, decisions, arrival_ms=arrival)


async def new_app(store: Store) -> str:
    project = await store.create_project("streams")
    return (await store.create_app(project.id, "Demo", "ios")).app_id


def test_consumer_streams_the_log_and_resumes(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'log.db'}"
    out = tmp_path / "out"

    async def scenario() -> tuple[str, list[dict[str, Any]]]:
        store = await open_store(db, server_key=KEY)
        try:
            app_id = await new_app(store)
            await ingest(store, app_id, upload_body(40), T0 + 1_000)
            sink = JsonlSink(out)
            consumer = StreamConsumer(store, sink, "stream:jsonl", batch_size=16)
            stats = await consumer.run_until_idle()
            sink.close()
            assert stats.skipped == []
            assert stats.rows == 41 + 4
            first_cursor = await store.get_cursor("stream:jsonl")
            # More uploads arrive; a new process resumes from the committed cursor.
            await ingest(store, app_id, upload_body(20, start=40), T0 + 2_000)
        finally:
            await store.close()
        store = await open_store(db, server_key=KEY)
        try:
            sink = JsonlSink(out)
            consumer = StreamConsumer(store, sink, "stream:jsonl", batch_size=16)
            await consumer.run_until_idle()
            sink.close()
            assert consumer.stats.rows == 20 + 2
            assert await store.get_cursor("stream:jsonl") > first_cursor
        finally:
            await store.close()
        return app_id, read_jsonl_dir(out / app_directory_name(app_id))

    app_id, records = asyncio.run(scenario())
    ids = [r["event_id"] for r in records]
    assert len(ids) == len(set(ids))  # a clean run has no duplicates
    types = [r["event_type"] for r in records]
    assert types[0] == "_session.start"
    assert types.count("_campaign.send") == 6
    assert types.count("_monetization.purchase") == 6
    assert types.count("Tapped") == 54
    tapped = next(r for r in records if r["event_type"] == "Tapped")
    assert tapped["application"]["app_id"] == app_id
    assert tapped["application"]["sdk"] == {"name": "tidings-python", "version": "0.1.0"}
    assert tapped["client"] == {"client_id": "dev-1", "user_id": "u-1"}
    assert tapped["session"] == {"session_id": "s-1", "start_timestamp": T0}
    assert tapped["device"]["platform"] == {"name": "ios", "version": "17.2"}
    assert tapped["arrival_timestamp"] == T0 + 1_000
    send = next(r for r in records if r["event_type"] == "_campaign.send")
    assert send["attributes"]["delivery_type"] == "IN_APP"
    assert orjson.loads(send["client_context"]["custom"]["endpoint"])["User"] == {"UserId": "u-1"}


def test_unreadable_row_is_skipped_with_its_reason(tmp_path: Path) -> None:
    async def scenario() -> tuple[list[tuple[int, str]], list[dict[str, Any]], str]:
        store = await open_store(f"sqlite:///{tmp_path / 'log.db'}", server_key=KEY)
        try:
            app_id = await new_app(store)
            bad = EventIn(id="bad", name="X", type="custom", timestamp=T0, payload=b"[1]")
            await store.ingest(app_id, [bad], arrival_ms=T0)
            await ingest(store, app_id, upload_body(3), T0 + 5)
            sink = JsonlSink(tmp_path / "out")
            consumer = StreamConsumer(store, sink, "s")
            stats = await consumer.run_until_idle()
            sink.close()
            return stats.skipped, read_jsonl_dir(tmp_path / "out" / app_id), app_id
        finally:
            await store.close()

    skipped, records, _ = asyncio.run(scenario())
    assert len(skipped) == 1 and "payload" in skipped[0][1]
    assert len(records) == 4 + 1 + 1  # start, 3 taps (one a purchase), its purchase + decision


def test_segment_payload_context() -> None:
    message = {
        "type": "track",
        "event": "Order Completed",
        "anonymousId": "anon-7",
        "userId": "u-7",
        "messageId": "m-1",
        "context": {
            "app": {"name": "Shop", "version": "5.0", "namespace": "com.shop"},
            "device": {"manufacturer": "Samsung", "model": "SM-G991B", "type": "android"},
            "os": {"name": "Android", "version": "13"},
            "library": {"name": "analytics-android", "version": "4.11.0"},
            "locale": "de-DE",
        },
    }
    payload = {
        "source": "segment",
        "appId": "app-s",
        "event": {
            "id": "m-1",
            "name": "Order Completed",
            "type": "custom",
            "timestamp": T0,
            "sessionId": None,
            "properties": {"total": 20, "order_id": "o-1"},
        },
        "message": message,
    }
    record, purchase = records_from_payload("event", payload, T0 + 7)
    assert record["client"] == {"client_id": "anon-7", "user_id": "u-7"}
    assert record["application"] == {
        "app_id": "app-s",
        "sdk": {"name": "analytics-android", "version": "4.11.0"},
        "title": "Shop",
        "version_name": "5.0",
        "package_name": "com.shop",
    }
    assert record["device"] == {
        "locale": {"code": "de_DE", "language": "de", "country": "DE"},
        "make": "Samsung",
        "model": "SM-G991B",
        "platform": {"name": "android", "version": "13"},
    }
    assert record["session"] == {}
    assert purchase["metrics"]["_item_price"] == 20


def test_server_side_decision_is_custom_delivery() -> None:
    payload = {
        "source": "server",
        "appId": "a",
        "decision": {"id": "d-1", "campaignId": "c", "status": "SUCCESS", "timestamp": T0},
        "device": {"deviceId": "dev-9"},
        "userId": None,
    }
    (record,) = records_from_payload("decision", payload, T0)
    assert record["attributes"]["delivery_type"] == "CUSTOM"
    assert record["client"] == {"client_id": "dev-9"}


def test_unknown_kind_is_refused() -> None:
    from tidings.core.errors import InvalidInput

    with pytest.raises(InvalidInput) as info:
        records_from_payload("audit", {"appId": "a", "device": {"deviceId": "d"}}, 1)
    assert info.value.field == "kind"


def test_account_ids_are_read_from_the_project_and_kept_a_while(db_url: str) -> None:
    from tidings.streams.accounts import AccountIds

    async def main() -> None:
        store = await open_store(db_url, server_key=KEY)
        try:
            project = await store.create_project("p")
            app_id = (await store.create_app(project.id, "a", "ios")).app_id
            now = [100.0]
            accounts = AccountIds(store, ttl_seconds=5.0, clock=lambda: now[0])
            assert await accounts.of([app_id, "app_missing"]) == {app_id: project.id}
            changed = project.settings.merged({"awsAccountId": "123456789012"})
            await store.update_project_settings(project.id, changed)
            now[0] += 4.9
            assert await accounts.of([app_id]) == {app_id: project.id}  # still kept
            now[0] += 0.1
            assert await accounts.of([app_id]) == {app_id: "123456789012"}
        finally:
            await store.close()

    asyncio.run(main())
