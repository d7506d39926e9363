"""The live event stream of one app: the newest events first, a name filter over the whole log,
pages further back, and a poll for what arrives while the page is open.

The first page renders on the server and then polls ``stream.json`` with the highest log
sequence number it has seen. Polling (rather than a held-open server-sent-events response)
keeps no connection open per browser tab, survives proxies that buffer, and lets a server shut
down at once.

The filter (event name contains, or starts with, the text; a device id; system events shown or
not) is applied in the server while it reads the app's events backwards through the log with
the storage role's ``recent_events``, so it reaches events of any age, not only those already
on the page. A request reads at most :data:`SCAN_BUDGET` events: a page ends at
:data:`PAGE_EVENTS` matches or at the budget, and its "Older events" link continues from the
log position where the read stopped. The log stores names inside packed batches, so a read in
the database could not filter by name without decoding the same records.

Within a page, rows are ordered by the event's own time, newest first (ties by log position);
pages follow the log's order, so an event uploaded late (a device offline for a day) is on the
page of its arrival, at its place by event time there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import orjson
from starlette.requests import Request
from starlette.responses import Response

from tidings.core.events import SYSTEM_EVENT_NAMES
from tidings.server.dashboard.pager import pager
from tidings.server.dashboard.pages import access_of, app_context, signed_in, store
from tidings.server.dashboard.render import render
from tidings.server.errors import bad_request, json_response
from tidings.storage import LogRecord, Store

PAGE_EVENTS: Final = 100
SCAN_BATCH: Final = 500
SCAN_BUDGET: Final = 20_000
"""Events one stream page request reads at most, whatever the filter finds."""
POLL_BATCH: Final = 500
FILTER_NAMES: Final = 2000
"""Event names the stream page offers as suggestions, at most."""
SHOWN_PROPERTIES: Final = 50
VALUE_CHARS: Final = 300
MATCHES: Final = ("contains", "prefix")


@dataclass(frozen=True, slots=True)
class StreamFilter:
    """What the stream shows: a name text matched as ``match``, a device id, system events."""

    name: str = ""
    match: str = "contains"
    device: str = ""
    system: bool = False

    @classmethod
    def parse(cls, request: Request) -> StreamFilter:
        q = request.query_params
        match = q.get("match", "contains")
        return cls(
            name=q.get("name", "").strip()[:255],
            match=match if match in MATCHES else "contains",
            device=q.get("device", "").strip()[:255],
            system=q.get("system") == "1",
        )

    @property
    def active(self) -> bool:
        return bool(self.name or self.device or self.system or self.match != "contains")

    def keeps(self, row: dict[str, Any]) -> bool:
        if not self.system and row["system"]:
            return False
        if self.device and row["deviceId"] != self.device:
            return False
        if not self.name:
            return True
        name, wanted = str(row["name"]).casefold(), self.name.casefold()
        return name.startswith(wanted) if self.match == "prefix" else wanted in name


def _text(value: Any) -> str:
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    return text if len(text) <= VALUE_CHARS else text[: VALUE_CHARS - 1] + "…"


def readable(props: Any) -> list[tuple[str, str]]:
    """Properties as ``(key, value)`` lines a person reads: strings as they are, numbers and
    booleans as JSON, nested values as compact JSON; at most :data:`SHOWN_PROPERTIES`."""
    if not isinstance(props, dict):
        return []
    out = [(str(k), _text(v)) for k, v in list(props.items())[:SHOWN_PROPERTIES]]
    if len(props) > SHOWN_PROPERTIES:
        out.append(("…", f"{len(props) - SHOWN_PROPERTIES} more"))
    return out


def stream_row(record: LogRecord) -> dict[str, Any]:
    """What one stream row shows: time, name, type, device, user, properties."""
    try:
        payload = orjson.loads(record.payload)
    except orjson.JSONDecodeError:
        payload = {}
    event = payload.get("event") if isinstance(payload, dict) else None
    event = event if isinstance(event, dict) else {}
    props = event.get("properties") or {}
    kind = event.get("type", "")
    return {
        "seq": record.seq,
        "id": record.item_id,
        "name": record.name,
        "type": kind,
        "system": kind == "system" if kind else record.name in SYSTEM_EVENT_NAMES,
        "timestamp": record.timestamp,
        "deviceId": record.device_id,
        "userId": record.user_id,
        "source": payload.get("source", "") if isinstance(payload, dict) else "",
        "properties": orjson.dumps(props).decode() if props else "",
        "props": readable(props),
    }


def _newest_first(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: (r["timestamp"], r["seq"]), reverse=True)


@dataclass(frozen=True, slots=True)
class StreamPage:
    rows: list[dict[str, Any]]
    before: int | None
    """Where the next (older) page starts, or ``None`` at the start of the log."""
    scanned: int


async def read_page(
    s: Store, app_id: str, wanted: StreamFilter, before: int | None, *, budget: int = SCAN_BUDGET
) -> StreamPage:
    """Up to :data:`PAGE_EVENTS` matching events older than ``before``, reading at most
    ``budget`` events of the app backwards through the log."""
    rows: list[dict[str, Any]] = []
    scanned, position = 0, before
    while scanned < budget:
        want = min(SCAN_BATCH, budget - scanned)
        batch = await s.recent_events(app_id, want, before_seq=position)
        for record in batch:
            scanned += 1
            position = record.seq
            row = stream_row(record)
            if wanted.keeps(row):
                rows.append(row)
                if len(rows) == PAGE_EVENTS:
                    return StreamPage(_newest_first(rows), position, scanned)
        if len(batch) < want:
            return StreamPage(_newest_first(rows), None, scanned)  # the start of the log
    return StreamPage(_newest_first(rows), position, scanned)


def _before(request: Request) -> int | None:
    raw = request.query_params.get("before")
    if raw is None:
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise bad_request("before", "not a position in the log (a whole number)")
    return int(raw)


@signed_in
async def stream_page(request: Request, token: str) -> Response:
    s = store(request)
    ctx = await app_context(access_of(request), request.path_params["app_id"])
    wanted = StreamFilter.parse(request)
    before = _before(request)
    after = await s.last_seq()
    page = await read_page(s, ctx.app.id, wanted, before)
    catalog = await s.event_catalog(ctx.app.id, limit=FILTER_NAMES)
    return render(
        request,
        "stream.html",
        {
            **ctx.as_context(),
            "rows": page.rows,
            "after": after,
            "live": before is None,
            "f": wanted,
            "scanned": page.scanned,
            "budget_spent": page.before is not None and len(page.rows) < PAGE_EVENTS,
            "pager": pager(request, None if page.before is None else str(page.before), "before"),
            "event_names": sorted({e.name for e in catalog if e.count}),
        },
        token=token,
    )


@signed_in
async def stream_poll(request: Request, token: str) -> Response:
    """Events of the app with ``seq > after`` that pass the filter, oldest first by event time
    (the page puts each on top), and the position to ask from next."""
    del token
    s = store(request)
    ctx = await app_context(access_of(request), request.path_params["app_id"])
    raw = request.query_params.get("after", "0")
    after = int(raw) if raw.isdigit() and len(raw) < 19 else 0
    wanted = StreamFilter.parse(request)
    records = await s.read_log(after, POLL_BATCH)
    rows = [
        row
        for row in (stream_row(r) for r in records if r.app_id == ctx.app.id and r.kind == "event")
        if wanted.keeps(row)
    ]
    position = records[-1].seq if records else after
    response = json_response({"after": position, "events": _newest_first(rows)[::-1]})
    response.headers["Cache-Control"] = "no-store"
    return response
