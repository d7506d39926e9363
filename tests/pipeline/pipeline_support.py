"""Builders for the pipeline tests: an app, SDK events in the event log, an Amplitude instance."""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson

from tidings.destinations.amplitude import BatchPolicy
from tidings.pipeline.delivery import Instance, SenderOptions, create_instance
from tidings.server.ingest import build_items
from tidings.server.upload import Upload
from tidings.storage import EventIn, MemoryStore, Store

T0 = 1_764_300_000_000
FAST = SenderOptions(batch=BatchPolicy(max_events=200, max_wait_ms=0), poll_seconds=0.05)


async def make_app(store: Store) -> str:
    project = await store.create_project("P")
    creds = await store.create_app(project.id, "A", "ios")
    return creds.app_id


def _device(device_id: str) -> dict[str, Any]:
    return {"deviceId": device_id, "platform": "ios", "osVersion": "17.1"}


def _record(event_id: str, name: str, ts: int, properties: dict[str, Any] | None) -> dict[str, Any]:
    """An SDK event record in session ``s-1``."""
    return {
        "id": event_id,
        "name": name,
        "type": "custom",
        "timestamp": ts,
        "sessionId": "s-1",
        "properties": properties or {"level": 3},
    }


def sdk_event(
    event_id: str,
    device_id: str,
    *,
    app_id: str,
    name: str = "Level Up",
    ts: int = T0,
    user_id: str | None = None,
    properties: dict[str, Any] | None = None,
) -> EventIn:
    payload = {
        "source": "sdk",
        "appId": app_id,
        "device": _device(device_id),
        "userId": user_id,
        "session": {"id": "s-1", "counter": 1, "startedAt": ts - 1000},
        "event": _record(event_id, name, ts, properties),
    }
    return EventIn(
        id=event_id,
        name=name,
        type="custom",
        timestamp=ts,
        payload=orjson.dumps(payload),
        device_id=device_id,
        user_id=user_id,
    )


def uploaded_event(event_id: str, device_id: str, *, app_id: str, ts: int = T0) -> EventIn:
    """:func:`sdk_event`'s event as the server stores it from a one-event upload."""
    upload = Upload(
        app_id=app_id,
        device=_device(device_id),
        user_id=None,
        custom_properties=None,
        sessions={"s-1": {"id": "s-1", "counter": 1, "startedAt": T0 - 1000}},
        dropped=0,
        events=[_record(event_id, "Level Up", ts, None)],
    )
    (event,), _ = build_items(upload)
    return event


async def log_events(
    store: Store,
    app_id: str,
    count: int,
    *,
    devices: int = 5,
    start: int = 0,
    ts: int = T0,
    prefix: str = "ev",
) -> list[str]:
    """Append ``count`` events spread over ``devices`` devices; returns their ids in order.

    Each is stored as the server stores an upload's events (a prefix with the device and
    session, shared by that device's events, then the event), so delivery reads them the way
    it reads a server's log.
    """
    ids = [f"{prefix}-{start + i:06d}" for i in range(count)]
    events = [
        uploaded_event(eid, f"device-{(start + i) % devices:04d}", app_id=app_id, ts=ts + start + i)
        for i, eid in enumerate(ids)
    ]
    for i in range(0, len(events), 100):
        await store.ingest(app_id, events[i : i + 100], arrival_ms=ts)
    return ids


async def amplitude_instance(
    store: Store, app_id: str, base_url: str, *, api_key: str = "test-key", **extra: Any
) -> Instance:
    body = {
        "name": "Amplitude",
        "settings": {"apiKey": api_key, "endpoint": "north_america", "baseUrl": base_url},
        **extra,
    }
    return await create_instance(store, app_id, body)


async def drain_outbox(store: Store, instance_id: str) -> None:
    """Send everything the instance's outbox holds (its current settings), then stop."""
    from tidings.pipeline.delivery import InstanceSender, get_instance

    sender = InstanceSender(store, await get_instance(store, instance_id), FAST)
    try:
        await sender.drain()
    finally:
        sender.close()


async def make_all_due(store: Store) -> None:
    """Let retried rows be sent now (tests do not wait out real backoffs)."""
    if isinstance(store, MemoryStore):
        outbox = store.state.outbox
        with store.state.lock:
            for row_id, row in outbox.items():
                outbox[row_id] = dataclasses.replace(row, due_ms=0)
        return
    from tidings.storage.sqlstore import SqlStore

    assert isinstance(store, SqlStore)
    await store.engine.write(lambda tx: tx.execute("UPDATE outbox SET due_ms = 0"))


async def outbox_rows(store: Store) -> list[tuple[str, int, str]]:
    """``(item_key, attempts, last_reason)`` of every outbox row, in enqueue order."""
    rows = [
        row
        for doc in await store.list_documents("destinations")
        for row in await store.outbox_rows(doc.id, 100_000)
    ]
    rows.sort(key=lambda r: r.id)
    return [(r.item_key, r.attempts, r.last_reason) for r in rows]
