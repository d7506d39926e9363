"""The events and custom-property catalogs, and the live event stream of one app.

The stream page renders the newest events on the server, then polls ``stream.json`` with the
highest log sequence number it has seen. Polling (rather than a held-open server-sent-events
response) keeps no connection open per browser tab, survives proxies that buffer, and lets a
server shut down at once; one poll costs one indexed log read.
"""

from __future__ import annotations

from typing import Any, Final

import orjson
from starlette.requests import Request
from starlette.responses import Response

from tidings.server.dashboard.pages import app_context, signed_in, store
from tidings.server.dashboard.render import render
from tidings.server.errors import json_response
from tidings.storage import LogRecord

PAGE_EVENTS: Final = 100
POLL_BATCH: Final = 500


@signed_in
async def catalog_page(request: Request, token: str) -> Response:
    s = store(request)
    ctx = await app_context(s, request.path_params["app_id"])
    events = await s.event_catalog(ctx.app.id)
    events.sort(key=lambda e: (e.type != "custom", -(e.last_seen or 0), e.name))
    return render(
        request,
        "catalog.html",
        {**ctx.as_context(), "events": events, "properties": await s.property_catalog(ctx.app.id)},
        token=token,
    )


def _filters(request: Request) -> tuple[str, str]:
    q = request.query_params
    return q.get("name", "").strip()[:255], q.get("device", "").strip()[:255]


def _matches(record: LogRecord, name: str, device: str) -> bool:
    return (not name or record.name == name) and (not device or record.device_id == device)


def stream_row(record: LogRecord) -> dict[str, Any]:
    """What one stream row shows: time, name, type, device, user, properties."""
    try:
        payload = orjson.loads(record.payload)
    except orjson.JSONDecodeError:
        payload = {}
    event = payload.get("event") if isinstance(payload, dict) else None
    event = event if isinstance(event, dict) else {}
    props = event.get("properties") or {}
    return {
        "seq": record.seq,
        "id": record.item_id,
        "name": record.name,
        "type": event.get("type", ""),
        "timestamp": record.timestamp,
        "deviceId": record.device_id,
        "userId": record.user_id,
        "source": payload.get("source", "") if isinstance(payload, dict) else "",
        "properties": orjson.dumps(props).decode() if props else "",
    }


@signed_in
async def stream_page(request: Request, token: str) -> Response:
    s = store(request)
    ctx = await app_context(s, request.path_params["app_id"])
    name, device = _filters(request)
    after = await s.last_seq()
    recent = [r for r in await s.recent_events(ctx.app.id, 1000) if _matches(r, name, device)]
    catalog = await s.event_catalog(ctx.app.id)
    return render(
        request,
        "stream.html",
        {
            **ctx.as_context(),
            "rows": [stream_row(r) for r in recent[:PAGE_EVENTS]],
            "after": after,
            "name": name,
            "device": device,
            "event_names": sorted({e.name for e in catalog if e.count}),
        },
        token=token,
    )


@signed_in
async def stream_poll(request: Request, token: str) -> Response:
    """Events of the app with ``seq > after``, oldest first, and the position to ask from next."""
    del token
    s = store(request)
    ctx = await app_context(s, request.path_params["app_id"])
    raw = request.query_params.get("after", "0")
    after = int(raw) if raw.isdigit() and len(raw) < 19 else 0
    name, device = _filters(request)
    records = await s.read_log(after, POLL_BATCH)
    rows = [
        stream_row(r)
        for r in records
        if r.app_id == ctx.app.id and r.kind == "event" and _matches(r, name, device)
    ]
    position = records[-1].seq if records else after
    response = json_response({"after": position, "events": rows})
    response.headers["Cache-Control"] = "no-store"
    return response
