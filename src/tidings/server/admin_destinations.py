"""Admin routes for destinations of every kind: one tree under two prefixes.

``/admin/api/destinations`` (every destination; a destination may serve several apps, whose
``appIds`` the body gives) and ``/admin/api/apps/{app_id}/destinations`` (the destinations
serving that app; one created there serves that app) share these handlers:

- list, create; read (on the per-app tree with its outbox size and how far its consumer is
  behind the log: ``position``, ``behind``, and ``partitions`` on a partitioned log),
  ``PATCH`` (top-level keys merged, ``settings`` key by key; a masked secret sent back keeps the
  stored one), ``PUT``
  (replaced whole, its pause state kept), delete (its outbox and dead letters go too);
- ``.../pause`` and ``/resume``;
- ``.../dead-letters`` (list), ``/retry`` and ``/discard`` (body ``{"ids": [...]}`` or nothing
  for all);
- ``.../replay {from, to}`` (epoch ms, or ISO 8601 on the per-app tree) records a replay
  request that the destination's sender runs (202).

The kind of a destination only shows in its ``kind`` and what its ``settings`` hold: handlers
go through ``tidings.pipeline.delivery``, which checks configurations with the kind's own
parsers (and masks its secrets, which are write-only). Lists are paged. A token limited to some
projects reaches a destination only when every app it serves is in scope. Handlers only write
configuration and requests; delivery happens in the pipeline.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tidings.core.errors import InvalidInput
from tidings.pipeline import delivery
from tidings.pipeline.delivery import Instance
from tidings.server.admin import _body, app_in_scope
from tidings.server.admin_access import AdminAccess, admin_access
from tidings.server.errors import ApiError, bad_request, json_response
from tidings.server.openapi import RouteDoc, admin_route
from tidings.server.paging import PageQuery, page_body, page_in_memory, page_query
from tidings.server.state import server_state
from tidings.server.validate import reject_unknown
from tidings.storage import NotFoundError
from tidings.storage.consumercursors import consumer_progress


def _invalid(exc: InvalidInput) -> ApiError:
    return bad_request(exc.field, exc.reason, "invalid_destination")


async def _scope(request: Request, access: AdminAccess) -> str | None:
    """The app of a per-app path (404 when it does not exist or is out of the token's scope),
    or ``None``."""
    app_id = request.path_params.get("app_id")
    if app_id is None:
        return None
    return (await app_in_scope(access, str(app_id))).id


async def visible_instance(
    access: AdminAccess, instance_id: str, app_id: str | None = None
) -> Instance:
    """The destination (of ``app_id`` when given), or 404 when it does not exist or serves an
    app outside the token's projects."""
    instance = await delivery.get_instance(access.store, instance_id, app_id)
    if not await access.allows_apps(instance.app_ids):
        raise NotFoundError("destination", instance_id)
    return instance


async def visible_instances(access: AdminAccess, app_id: str | None = None) -> list[Instance]:
    """The destinations (of ``app_id`` when given) the token may see, oldest first."""
    found = await delivery.list_instances(access.store, app_id)
    return [i for i in found if await access.allows_apps(i.app_ids)]


async def _instance(request: Request, access: AdminAccess) -> Instance:
    app_id = await _scope(request, access)
    return await visible_instance(access, str(request.path_params["id"]), app_id)


async def _app_ids(access: AdminAccess, body: dict[str, Any]) -> list[str]:
    raw = body.get("appIds")
    if not isinstance(raw, list) or not raw:
        raise bad_request("appIds", "is required (a non-empty array of app ids)")
    for i, app_id in enumerate(raw):
        if not isinstance(app_id, str) or await access.app(app_id) is None:
            raise bad_request(f"appIds[{i}]", f"no app {app_id!r}")
    return list(dict.fromkeys(raw))


def instance_page(instances: list[Instance], query: PageQuery) -> dict[str, Any]:
    """One page of destinations, as the API shows them."""

    def key(i: Instance) -> tuple[int, str]:
        return (i.created_at, i.id)

    return page_body(page_in_memory(instances, query, key), query, key, lambda i: i.to_json())


async def selected_ids(request: Request) -> list[str] | None:
    """The ``ids`` of the body, or ``None`` (all) when there is no body or no ``ids``."""
    if not (await request.body()).strip():
        return None
    body = await _body(request)
    reject_unknown(body, ("ids",))
    ids = body.get("ids")
    if ids is None:
        return None
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise bad_request("ids", "must be an array of dead-letter ids")
    return ids


async def list_destinations(request: Request) -> Response:
    access = await admin_access(request)
    app_id = await _scope(request, access)
    query = page_query(request.query_params, "destinations", (int, str))
    return json_response(instance_page(await visible_instances(access, app_id), query))


async def create_destination(request: Request) -> Response:
    access = await admin_access(request)
    app_id = await _scope(request, access)
    body = await _body(request)
    app_ids = [app_id] if app_id is not None else await _app_ids(access, body)
    try:
        instance = await delivery.create_instance_for_apps(access.store, app_ids, body)
    except InvalidInput as exc:
        raise _invalid(exc) from None
    return json_response(instance.to_json(), status=201)


async def read_destination(request: Request) -> Response:
    access = await admin_access(request)
    instance = await _instance(request, access)
    out = instance.to_json()
    if request.path_params.get("app_id") is not None:
        out["outbox"] = await delivery.pending(access.store, instance.id)
        # Where its consumer is: on a partitioned log, over every partition cursor.
        progress = await consumer_progress(access.store, delivery.cursor_name(instance.id))
        out.update(progress.to_json())
    return json_response(out)


async def update_destination(request: Request) -> Response:
    access = await admin_access(request)
    current = await _instance(request, access)
    try:
        instance = await delivery.update_instance(
            access.store, current.id, await _body(request), request.path_params.get("app_id")
        )
    except InvalidInput as exc:
        raise _invalid(exc) from None
    return json_response(instance.to_json())


async def replace_destination(request: Request) -> Response:
    access = await admin_access(request)
    current = await _instance(request, access)  # 404 before judging the body
    body = await _body(request)
    app_id = request.path_params.get("app_id")
    app_ids = [app_id] if app_id is not None else await _app_ids(access, body)
    try:
        instance = await delivery.replace_instance(access.store, current.id, body, app_ids)
    except InvalidInput as exc:
        raise _invalid(exc) from None
    return json_response(instance.to_json())


async def delete_destination(request: Request) -> Response:
    access = await admin_access(request)
    store = access.store
    instance = await _instance(request, access)
    await delivery.delete_instance(store, instance.id)
    await delivery.forget(store, instance.id)
    return json_response({"id": instance.id, "deleted": True})


async def pause_destination(request: Request) -> Response:
    access = await admin_access(request)
    store = access.store
    instance = await _instance(request, access)
    now = server_state(request).settings.now_ms()
    paused = await delivery.set_paused(store, instance.id, "paused by an operator", now)
    return json_response(paused.to_json())


async def resume_destination(request: Request) -> Response:
    access = await admin_access(request)
    store = access.store
    instance = await _instance(request, access)
    return json_response((await delivery.set_paused(store, instance.id, None)).to_json())


async def list_dead_letters(request: Request) -> Response:
    access = await admin_access(request)
    instance = await _instance(request, access)
    query = page_query(request.query_params, "dead-letters", (int, str))
    after = (int(query.after[0]), str(query.after[1])) if query.after is not None else None
    letters = await access.store.list_dead_letters(instance.id, query.limit + 1, after=after)
    return json_response(
        page_body(letters, query, lambda d: (d.created_at, d.id), lambda d: d.to_json())
    )


async def retry_dead_letters(request: Request) -> Response:
    access = await admin_access(request)
    store = access.store
    instance = await _instance(request, access)
    count = await delivery.retry(store, instance.id, await selected_ids(request))
    return json_response({"retried": count})


async def discard_dead_letters(request: Request) -> Response:
    access = await admin_access(request)
    store = access.store
    instance = await _instance(request, access)
    count = await delivery.discard(store, instance.id, await selected_ids(request))
    return json_response({"discarded": count})


def _bound(body: dict[str, Any], key: str, *, iso: bool) -> int:
    value = body.get(key)
    if not iso:
        if type(value) is not int or value < 0:
            raise bad_request(key, "is required (epoch milliseconds, an integer)")
        return value
    if key not in body:
        raise bad_request(key, "is required (epoch milliseconds or an ISO 8601 time)")
    try:
        return delivery.parse_time_bound(key, value)
    except InvalidInput as exc:
        raise bad_request(exc.field, exc.reason) from None


async def replay(request: Request) -> Response:
    access = await admin_access(request)
    store = access.store
    instance = await _instance(request, access)
    body = await _body(request)
    reject_unknown(body, ("from", "to"))
    iso = request.path_params.get("app_id") is not None
    start, end = _bound(body, "from", iso=iso), _bound(body, "to", iso=iso)
    if start >= end:
        raise bad_request("to", "must be after from")
    now = server_state(request).settings.now_ms()
    doc = await delivery.request_replay(store, instance.id, start, end, now)
    return json_response({**doc.body, "id": doc.id}, status=202)


def _routes(base: str, scope: str) -> list[tuple[RouteDoc, Any]]:
    one = f"{base}/{{id}}"
    return [
        admin_route("GET", base, list_destinations, f"List destinations{scope}", paged=True),
        admin_route("POST", base, create_destination, f"Create a destination{scope}"),
        admin_route("GET", one, read_destination, "Read a destination"),
        admin_route("PATCH", one, update_destination, "Change a destination"),
        admin_route("PUT", one, replace_destination, "Replace a destination"),
        admin_route("DELETE", one, delete_destination, "Delete a destination and what it owes"),
        admin_route("POST", f"{one}/pause", pause_destination, "Pause sending (events queue)"),
        admin_route("POST", f"{one}/resume", resume_destination, "Resume sending"),
        admin_route(
            "GET", f"{one}/dead-letters", list_dead_letters, "List dead letters", paged=True
        ),
        admin_route("POST", f"{one}/dead-letters/retry", retry_dead_letters, "Retry dead letters"),
        admin_route(
            "POST", f"{one}/dead-letters/discard", discard_dead_letters, "Discard dead letters"
        ),
        admin_route("POST", f"{one}/replay", replay, "Replay a time range of the log"),
    ]


ROUTES = [
    *_routes("/admin/api/destinations", ""),
    *_routes("/admin/api/apps/{app_id}/destinations", " of an app"),
]
