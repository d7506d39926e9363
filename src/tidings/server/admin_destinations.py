"""Admin routes for an app's Amplitude destination instances, their dead letters and replays.

``/admin/api/apps/{app_id}/destinations``: create, list; ``.../{id}``: read, update (PATCH merges
top-level keys, ``settings`` key by key), delete (its outbox and dead letters go too);
``.../{id}/pause`` and ``/resume``; ``.../{id}/dead-letters`` (list), ``/retry`` and ``/discard``
(body ``{"ids": [...]}`` or nothing for all); ``.../{id}/replay {from, to}`` (epoch ms or ISO
8601) records a replay request the instance's sender runs (202).

Handlers only write configuration and requests; delivery happens in the pipeline.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tidings.core.errors import InvalidInput
from tidings.pipeline import delivery
from tidings.pipeline.delivery import (
    create_instance,
    delete_instance,
    get_instance,
    list_instances,
    parse_time_bound,
    request_replay,
    set_paused,
    update_instance,
)
from tidings.server.admin import _body, admin_store
from tidings.server.errors import ApiError, bad_request, json_response
from tidings.server.openapi import admin_route
from tidings.server.registry import selected_ids
from tidings.server.state import server_state
from tidings.server.validate import reject_unknown


def _app_id(request: Request) -> str:
    return str(request.path_params["app_id"])


def _instance_id(request: Request) -> str:
    return str(request.path_params["id"])


async def _checked_app(request: Request) -> str:
    store = await admin_store(request)
    app_id = _app_id(request)
    if await store.get_app(app_id) is None:
        raise ApiError(404, "app_not_found", f"app_id: no app {app_id!r}")
    return app_id


def _invalid(exc: InvalidInput) -> ApiError:
    return bad_request(exc.field, exc.reason, "invalid_destination")


async def create(request: Request) -> Response:
    store = await admin_store(request)
    app_id = await _checked_app(request)
    try:
        instance = await create_instance(store, app_id, await _body(request))
    except InvalidInput as exc:
        raise _invalid(exc) from None
    return json_response(instance.to_json(), status=201)


async def list_all(request: Request) -> Response:
    store = await admin_store(request)
    app_id = await _checked_app(request)
    return json_response([i.to_json() for i in await list_instances(store, app_id)])


async def read(request: Request) -> Response:
    store = await admin_store(request)
    instance = await get_instance(store, _instance_id(request), _app_id(request))
    body = instance.to_json()
    body["outbox"] = await delivery.pending(store, instance.id)
    return json_response(body)


async def update(request: Request) -> Response:
    store = await admin_store(request)
    try:
        instance = await update_instance(
            store, _instance_id(request), await _body(request), _app_id(request)
        )
    except InvalidInput as exc:
        raise _invalid(exc) from None
    return json_response(instance.to_json())


async def delete(request: Request) -> Response:
    store = await admin_store(request)
    instance_id = _instance_id(request)
    await delete_instance(store, instance_id, _app_id(request))
    await delivery.forget(store, instance_id)
    return json_response({"id": instance_id, "deleted": True})


async def pause(request: Request) -> Response:
    store = await admin_store(request)
    instance = await get_instance(store, _instance_id(request), _app_id(request))
    now = server_state(request).settings.now_ms()
    paused = await set_paused(store, instance.id, "paused by an operator", now)
    return json_response(paused.to_json())


async def resume(request: Request) -> Response:
    store = await admin_store(request)
    instance = await get_instance(store, _instance_id(request), _app_id(request))
    return json_response((await set_paused(store, instance.id, None)).to_json())


async def list_dead(request: Request) -> Response:
    store = await admin_store(request)
    instance = await get_instance(store, _instance_id(request), _app_id(request))
    letters = await delivery.dead_letters(store, instance.id)
    return json_response([d.to_json() for d in letters])


async def retry_dead(request: Request) -> Response:
    store = await admin_store(request)
    instance = await get_instance(store, _instance_id(request), _app_id(request))
    return json_response(
        {"retried": await delivery.retry(store, instance.id, await selected_ids(request))}
    )


async def discard_dead(request: Request) -> Response:
    store = await admin_store(request)
    instance = await get_instance(store, _instance_id(request), _app_id(request))
    count = await delivery.discard(store, instance.id, await selected_ids(request))
    return json_response({"discarded": count})


def _bound(body: dict[str, Any], key: str) -> int:
    if key not in body:
        raise bad_request(key, "is required (epoch milliseconds or an ISO 8601 time)")
    try:
        return parse_time_bound(key, body[key])
    except InvalidInput as exc:
        raise bad_request(exc.field, exc.reason) from None


async def replay(request: Request) -> Response:
    store = await admin_store(request)
    instance = await get_instance(store, _instance_id(request), _app_id(request))
    body = await _body(request)
    reject_unknown(body, ("from", "to"))
    start, end = _bound(body, "from"), _bound(body, "to")
    if start >= end:
        raise bad_request("to", "must be after from")
    now = server_state(request).settings.now_ms()
    doc = await request_replay(store, instance.id, start, end, now)
    return json_response({**doc.body, "id": doc.id}, status=202)


_P = "/admin/api/apps/{app_id}/destinations"
ROUTES = [
    admin_route("GET", _P, list_all, "List the app's Amplitude destinations"),
    admin_route("POST", _P, create, "Create an Amplitude destination for the app"),
    admin_route("GET", f"{_P}/{{id}}", read, "Read a destination (with its outbox size)"),
    admin_route("PATCH", f"{_P}/{{id}}", update, "Change a destination"),
    admin_route("DELETE", f"{_P}/{{id}}", delete, "Delete a destination, its outbox, dead letters"),
    admin_route("POST", f"{_P}/{{id}}/pause", pause, "Pause sending (events keep queueing)"),
    admin_route("POST", f"{_P}/{{id}}/resume", resume, "Resume sending"),
    admin_route("GET", f"{_P}/{{id}}/dead-letters", list_dead, "List dead letters"),
    admin_route("POST", f"{_P}/{{id}}/dead-letters/retry", retry_dead, "Retry dead letters"),
    admin_route("POST", f"{_P}/{{id}}/dead-letters/discard", discard_dead, "Discard dead letters"),
    admin_route("POST", f"{_P}/{{id}}/replay", replay, "Replay a time range of the log"),
]
