"""The live stream page over HTTP: newest first by event time, a name filter over the whole
log in pages, system events hidden unless asked for, properties as readable lines."""

from __future__ import annotations

import html
import re
from typing import Any

import orjson
import pytest
from dash_support import AsgiHarness

from tidings.server.dashboard import stream_views
from tidings.server.dashboard.session import csrf_token
from tidings.storage import EventIn

pytestmark = pytest.mark.anyio

T0 = 1_700_000_000_000


async def _sign_in(h: AsgiHarness) -> None:
    r = await h.client.post("/signin", data={"token": h.token, "next": "/"})
    assert r.status_code == 303
    csrf_token(h.token)


def _event(
    event_id: str,
    name: str,
    ts: int,
    *,
    kind: str = "custom",
    device: str = "dev-1",
    props: dict[str, Any] | None = None,
) -> EventIn:
    payload = orjson.dumps({"event": {"type": kind, "properties": props or {}}})
    return EventIn(event_id, name, kind, ts, payload, device)


async def _ingest(h: AsgiHarness, events: list[EventIn]) -> None:
    for start in range(0, len(events), 500):
        await h.store.ingest(h.app_id, events[start : start + 500], [], arrival_ms=T0)


async def _page(h: AsgiHarness, **params: str) -> str:
    r = await h.client.get(f"/apps/{h.app_id}/stream", params=params)
    assert r.status_code == 200
    return r.text


def _rows(page: str) -> list[tuple[str, str]]:
    """(event name, device) of each row, top to bottom."""
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return re.findall(
        r"<tr><td>[^<]*</td><td>([^<]*)</td><td>[^<]*</td><td><code>([^<]*)</code>", body
    )


def _next(page: str) -> str | None:
    found = re.search(r'<a href="([^"]+)" rel="next">', page)
    return html.unescape(found.group(1)) if found else None


async def test_rows_are_newest_first_by_event_time(asgi: AsgiHarness) -> None:
    await _sign_in(asgi)
    # One upload whose events arrive out of their time order (a device sending a backlog).
    await _ingest(
        asgi,
        [
            _event("e-1", "Second", T0 + 2000),
            _event("e-2", "First", T0 + 1000),
            _event("e-3", "Third", T0 + 3000),
        ],
    )
    assert [name for name, _ in _rows(await _page(asgi))] == ["Third", "Second", "First"]
    polled = (await asgi.client.get(f"/apps/{asgi.app_id}/stream.json", params={"after": 0})).json()
    # Oldest first in the answer: the page puts each on top, so the newest ends on top.
    assert [e["name"] for e in polled["events"]] == ["First", "Second", "Third"]


async def test_the_name_filter_reaches_past_the_newest_events(asgi: AsgiHarness) -> None:
    await _sign_in(asgi)
    old = [_event("old-1", "PurchaseCompleted", T0), _event("old-2", "CartViewed", T0 + 1)]
    noise = [_event(f"n-{i}", "Noise", T0 + 10 + i) for i in range(1200)]
    await _ingest(asgi, old + noise)
    assert _rows(await _page(asgi, name="purchase")) == [("PurchaseCompleted", "dev-1")]
    assert _rows(await _page(asgi, name="completed")) == [("PurchaseCompleted", "dev-1")]
    assert _rows(await _page(asgi, name="completed", match="prefix")) == []
    assert _rows(await _page(asgi, name="cart", match="prefix")) == [("CartViewed", "dev-1")]
    nothing = await _page(asgi, name="nothing like it")
    assert _rows(nothing) == [] and "No matching events" in nothing


async def test_a_filtered_stream_pages_back_through_the_whole_log(asgi: AsgiHarness) -> None:
    await _sign_in(asgi)
    events = []
    for i in range(250):
        events.append(_event(f"m-{i}", "Match", T0 + 2 * i))
        events.append(_event(f"x-{i}", "Other", T0 + 2 * i + 1))
    await _ingest(asgi, events)
    first = await _page(asgi, name="match")
    assert 'data-poll="' in first
    url, pages, seen = _next(first), [first], len(_rows(first))
    while url is not None:
        assert "name=match" in url and "before=" in url
        page = (await asgi.client.get(url)).text
        assert 'data-poll="' not in page  # older pages are not live
        pages.append(page)
        seen += len(_rows(page))
        url = _next(page)
    assert [len(_rows(p)) for p in pages] == [100, 100, 50]
    assert seen == 250
    assert all(name == "Match" for p in pages for name, _ in _rows(p))
    r = await asgi.client.get(f"/apps/{asgi.app_id}/stream", params={"before": "soon"})
    assert r.status_code == 400 and "before: not a position in the log" in r.text


async def test_system_events_are_hidden_unless_asked_for(asgi: AsgiHarness) -> None:
    await _sign_in(asgi)
    await _ingest(
        asgi,
        [
            _event("s-1", "SessionStarted", T0, kind="system"),
            _event("c-1", "PurchaseCompleted", T0 + 1),
        ],
    )
    default = await _page(asgi)
    assert [n for n, _ in _rows(default)] == ["PurchaseCompleted"]
    assert 'id="filter-system" name="system" type="checkbox" value="1" >' in default
    shown = await _page(asgi, system="1")
    assert [n for n, _ in _rows(shown)] == ["PurchaseCompleted", "SessionStarted"]
    assert 'data-system="1"' in shown
    url = f"/apps/{asgi.app_id}/stream.json"
    hidden = (await asgi.client.get(url, params={"after": 0})).json()["events"]
    assert [e["name"] for e in hidden] == ["PurchaseCompleted"]
    both = (await asgi.client.get(url, params={"after": 0, "system": "1"})).json()["events"]
    assert [e["name"] for e in both] == ["SessionStarted", "PurchaseCompleted"]
    assert [e["system"] for e in both] == [True, False]


async def test_properties_read_as_key_and_value_lines(asgi: AsgiHarness) -> None:
    await _sign_in(asgi)
    props = {"plan": "annual", "price": 29.99, "trial": True, "tags": ["a", "b"], "long": "z" * 400}
    await _ingest(asgi, [_event("p-1", "PurchaseCompleted", T0, props=props)])
    page = await _page(asgi)
    assert "<dt>plan</dt><dd>annual</dd>" in page
    assert "<dt>price</dt><dd>29.99</dd>" in page
    assert "<dt>trial</dt><dd>true</dd>" in page
    assert "<dt>tags</dt><dd>[&#34;a&#34;,&#34;b&#34;]</dd>" in page
    assert "z" * 299 + "…" in page and "z" * 300 not in page
    assert '{"plan"' not in page and "{&#34;plan" not in page  # no raw JSON blob
    polled = (
        await asgi.client.get(f"/apps/{asgi.app_id}/stream.json", params={"after": 0})
    ).json()["events"][0]
    assert polled["props"][:3] == [["plan", "annual"], ["price", "29.99"], ["trial", "true"]]


async def test_one_page_reads_a_bounded_number_of_events(asgi: AsgiHarness) -> None:
    await _ingest(
        asgi,
        [_event("hit", "Rare", T0)] + [_event(f"n-{i}", "Noise", T0 + 1 + i) for i in range(120)],
    )
    wanted = stream_views.StreamFilter(name="rare")
    page = await stream_views.read_page(asgi.store, asgi.app_id, wanted, None, budget=50)
    assert page.rows == [] and page.scanned == 50 and page.before is not None
    found: list[str] = []
    before, reads = page.before, 1
    while before is not None:
        page = await stream_views.read_page(asgi.store, asgi.app_id, wanted, before, budget=50)
        assert page.scanned <= 50
        found += [r["id"] for r in page.rows]
        before, reads = page.before, reads + 1
    assert found == ["hit"] and reads == 3
