"""The events and custom-property catalogs of one app (the live stream is in
:mod:`stream_views`).

The catalog page shows both catalogs a page at a time (``?events=`` and ``?properties=`` hold
their cursors) and says when one is full: past its limit an app's new event names are refused
and new property keys are not catalogued.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from tidings.server.dashboard.pager import PAGE_SIZE, pager
from tidings.server.dashboard.pages import access_of, app_context, signed_in, store
from tidings.server.dashboard.render import render
from tidings.server.paging import PageQuery, page_body, page_query
from tidings.server.state import server_state


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
