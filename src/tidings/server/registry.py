"""Admin routes for destinations (Amplitude instances) and their dead letters (stream sinks:
``admin_streams``): the contract's ``/admin/api/destinations`` tree.

An instance is configured through ``tidings.pipeline.instances``, the same functions behind
``/admin/api/apps/{app}/destinations`` and the CLI, so both trees check, store and start an
instance alike (a new one's cursor starts at the end of the log). Work for the delivery
workers is handed over as documents and rows:

- dead letters of destination ``D`` are rows of the ``dead_letters`` table (request, response,
  reason), shared with ``/admin/api/apps/{app}/destinations`` (``tidings.pipeline.deadletters``);
- ``.../dead-letters/retry`` puts them back into the outbox; ``.../discard`` deletes them (all,
  or the ``ids`` given);
- ``.../replay {from, to}`` records a request in ``replays:D`` for the worker to re-read the log
  between those epoch-ms times.

Lists are paged; secrets are masked and kept as in ``admin_destinations``, and a token limited
to some projects reaches only instances whose apps are all in scope.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tidings.core.errors import InvalidInput
from tidings.pipeline import deadletters, instances
from tidings.pipeline.amplitude import request_replay
from tidings.server.admin import _body
from tidings.server.admin_access import AdminAccess, admin_access
from tidings.server.admin_destinations import (
    dead_letter_page,
    destination_json,
    instance_page,
    selected_ids,
    visible_instance,
    visible_instances,
    with_kept_secrets,
)
from tidings.server.errors import ApiError, bad_request, json_response
from tidings.server.openapi import admin_route
from tidings.server.paging import page_query
from tidings.server.state import server_state
from tidings.server.validate import reject_unknown


async def _app_ids(access: AdminAccess, body: dict[str, Any]) -> list[str]:
    raw = body.get("appIds")
    if not isinstance(raw, list) or not raw:
        raise bad_request("appIds", "is required (a non-empty array of app ids)")
    for i, app_id in enumerate(raw):
        if not isinstance(app_id, str) or await access.app(app_id) is None:
            raise bad_request(f"appIds[{i}]", f"no app {app_id!r}")
    return list(dict.fromkeys(raw))


def _invalid(exc: InvalidInput) -> ApiError:
    return bad_request(exc.field, exc.reason, "invalid_destination")


async def list_destinations(request: Request) -> Response:
    access = await admin_access(request)
    query = page_query(request.query_params, "destinations", (int, str))
    return json_response(instance_page(await visible_instances(access), query))


async def create_destination(request: Request) -> Response:
    access = await admin_access(request)
    body = await _body(request)
    app_ids = await _app_ids(access, body)
    try:
        instance = await instances.create_instance_for_apps(access.store, app_ids, body)
    except InvalidInput as exc:
        raise _invalid(exc) from None
    return json_response(destination_json(instance), status=201)


async def get_destination(request: Request) -> Response:
    access = await admin_access(request)
    instance = await visible_instance(access, request.path_params["id"])
    return json_response(destination_json(instance))


async def replace_destination(request: Request) -> Response:
    access = await admin_access(request)
    current = await visible_instance(access, request.path_params["id"])  # 404 before the body
    body = with_kept_secrets(await _body(request), current)
    app_ids = await _app_ids(access, body)
    try:
        instance = await instances.replace_instance(access.store, current.id, body, app_ids)
    except InvalidInput as exc:
        raise _invalid(exc) from None
    return json_response(destination_json(instance))


async def delete_destination(request: Request) -> Response:
    access = await admin_access(request)
    current = await visible_instance(access, request.path_params["id"])
    await instances.delete_instance(access.store, current.id)
    await deadletters.forget(access.store, current.id)
    return json_response({"id": current.id, "deleted": True})


async def list_dead_letters(request: Request) -> Response:
    access = await admin_access(request)
    current = await visible_instance(access, request.path_params["id"])
    return await dead_letter_page(request, access, current)


async def retry_dead_letters(request: Request) -> Response:
    access = await admin_access(request)
    current = await visible_instance(access, request.path_params["id"])
    count = await deadletters.retry(access.store, current.id, await selected_ids(request))
    return json_response({"retried": count})


async def discard_dead_letters(request: Request) -> Response:
    access = await admin_access(request)
    current = await visible_instance(access, request.path_params["id"])
    count = await deadletters.discard(access.store, current.id, await selected_ids(request))
    return json_response({"discarded": count})


async def replay(request: Request) -> Response:
    access = await admin_access(request)
    current = await visible_instance(access, request.path_params["id"])
    body = await _body(request)
    reject_unknown(body, ("from", "to"))
    bounds = []
    for key in ("from", "to"):
        value = body.get(key)
        if type(value) is not int or value < 0:
            raise bad_request(key, "is required (epoch milliseconds, an integer)")
        bounds.append(value)
    if bounds[0] >= bounds[1]:
        raise bad_request("to", "must be after from")
    now = server_state(request).settings.now_ms()
    doc = await request_replay(access.store, current.id, bounds[0], bounds[1], now)
    return json_response({**doc.body, "id": doc.id}, status=202)


_D = "/admin/api/destinations"
ROUTES = [
    admin_route("GET", _D, list_destinations, "List destinations", paged=True),
    admin_route("POST", _D, create_destination, "Create an Amplitude destination"),
    admin_route("GET", f"{_D}/{{id}}", get_destination, "Read a destination"),
    admin_route("PUT", f"{_D}/{{id}}", replace_destination, "Replace a destination"),
    admin_route("DELETE", f"{_D}/{{id}}", delete_destination, "Delete a destination"),
    admin_route(
        "GET", f"{_D}/{{id}}/dead-letters", list_dead_letters, "List dead letters", paged=True
    ),
    admin_route(
        "POST", f"{_D}/{{id}}/dead-letters/retry", retry_dead_letters, "Retry dead letters"
    ),
    admin_route(
        "POST", f"{_D}/{{id}}/dead-letters/discard", discard_dead_letters, "Discard dead letters"
    ),
    admin_route("POST", f"{_D}/{{id}}/replay", replay, "Replay the log between two times"),
]
