"""The events and custom-property catalogs, and the live event stream of one app.

The catalog page shows both catalogs a page at a time (``?events=`` and ``?properties=`` hold
their cursors) and says when one is full: past its limit an app's new event names are refused
and new property keys are not catalogued.

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

from tidings.server.dashboard.pager import PAGE_SIZE, pager
from tidings.server.dashboard.pages import access_of, app_context, signed_in, store
from tidings.server.dashboard.render import render
from tidings.server.errors import json_response
from tidings.server.paging import PageQuery, page_body, page_query
from tidings.server.state import server_state
from tidings.storage import LogRecord

PAGE_EVENTS: Final = 100
POLL_BATCH: Final = 500
FILTER_NAMES: Final = 2000
"""Event names the stream page offers as filters, at most."""


def _query(request: Request, param: str, listing: str, shape: tuple[type, ...]) -> PageQuery:
    """One of the page's two lists: its cursor travels in ``param``."""
    cursor = request.query_params.get(param)
    params = {"cursor": cursor} if cursor else {}
    return page_query(params, listing, shape, default=PAGE_SIZE)


@signed_in
async def catalog_page(request: Request, token: str) -> Response:
    s = store(request)
    ctx = await app_context(access_of(request), request.path_params["app_id"])
    eq = _query(request, "events", "events", (str, str))
    events = page_body(
        await s.event_catalog(ctx.app.id, after=eq.after, limit=eq.limit + 1),
        eq,
        lambda e: (e.type, e.name),
        lambda e: e,
    )
    pq = _query(request, "properties", "properties", (str,))
    properties = page_body(
        await s.property_catalog(ctx.app.id, after=pq.after, limit=pq.limit + 1),
        pq,
        lambda p: (p.key,),
        lambda p: p,
    )
    names, keys = await s.catalog_sizes(ctx.app.id)
    limits = server_state(request).settings.catalog_limits
    return render(
        request,
        "catalog.html",
        {
            **ctx.as_context(),
            "events": events["items"],
            "events_pager": pager(request, events["next"], "events"),
            "properties": properties["items"],
            "properties_pager": pager(request, properties["next"], "properties"),
            "names": names,
            "keys": keys,
            "limits": limits,
        },
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
    ctx = await app_context(access_of(request), request.path_params["app_id"])
    name, device = _filters(request)
    after = await s.last_seq()
    recent = [r for r in await s.recent_events(ctx.app.id, 1000) if _matches(r, name, device)]
    catalog = await s.event_catalog(ctx.app.id, limit=FILTER_NAMES)
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
    ctx = await app_context(access_of(request), request.path_params["app_id"])
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
