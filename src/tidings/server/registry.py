"""Admin routes for destinations (Amplitude instances) and their dead letters (stream sinks:
``admin_streams``): the contract's ``/admin/api/destinations`` tree.

An instance is configured through ``tidings.pipeline.delivery``, the same functions behind
``/admin/api/apps/{app}/destinations`` and the CLI, so both trees check, store and start an
instance alike (a new one's cursor starts at the end of the log). Work for the delivery
workers is handed over as documents and rows:

- dead letters of destination ``D`` are rows of the ``dead_letters`` table (request, response,
  reason), shared with ``/admin/api/apps/{app}/destinations`` (``tidings.pipeline.delivery``);
- ``.../dead-letters/retry`` puts them back into the outbox; ``.../discard`` deletes them (all,
  or the ``ids`` given);
- ``.../replay {from, to}`` records a request in ``replays:D`` for the worker to re-read the log
  between those epoch-ms times.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tidings.core.errors import InvalidInput
from tidings.pipeline import delivery
from tidings.pipeline.delivery import request_replay
from tidings.server.admin import _body, admin_store
from tidings.server.errors import ApiError, bad_request, json_response
from tidings.server.openapi import admin_route
from tidings.server.state import server_state
from tidings.server.validate import reject_unknown
from tidings.storage import Store


async def _app_ids(store: Store, body: dict[str, Any]) -> list[str]:
    raw = body.get("appIds")
    if not isinstance(raw, list) or not raw:
        raise bad_request("appIds", "is required (a non-empty array of app ids)")
    for i, app_id in enumerate(raw):
        if not isinstance(app_id, str) or await store.get_app(app_id) is None:
            raise bad_request(f"appIds[{i}]", f"no app {app_id!r}")
    return list(dict.fromkeys(raw))


def _invalid(exc: InvalidInput) -> ApiError:
    return bad_request(exc.field, exc.reason, "invalid_destination")


async def list_destinations(request: Request) -> Response:
    store = await admin_store(request)
    return json_response([i.to_json() for i in await delivery.list_instances(store)])


async def create_destination(request: Request) -> Response:
    store = await admin_store(request)
    body = await _body(request)
    app_ids = await _app_ids(store, body)
    try:
        instance = await delivery.create_instance_for_apps(store, app_ids, body)
    except InvalidInput as exc:
        raise _invalid(exc) from None
    return json_response(instance.to_json(), status=201)


async def get_destination(request: Request) -> Response:
    store = await admin_store(request)
    instance = await delivery.get_instance(store, request.path_params["id"])
    return json_response(instance.to_json())


async def replace_destination(request: Request) -> Response:
    store = await admin_store(request)
    instance_id = request.path_params["id"]
    await delivery.get_instance(store, instance_id)  # 404 before judging the body
    body = await _body(request)
    app_ids = await _app_ids(store, body)
    try:
        instance = await delivery.replace_instance(store, instance_id, body, app_ids)
    except InvalidInput as exc:
        raise _invalid(exc) from None
    return json_response(instance.to_json())


async def delete_destination(request: Request) -> Response:
    store = await admin_store(request)
    instance_id = request.path_params["id"]
    await delivery.delete_instance(store, instance_id)
    await delivery.forget(store, instance_id)
    return json_response({"id": instance_id, "deleted": True})


async def list_dead_letters(request: Request) -> Response:
    store = await admin_store(request)
    current = await delivery.get_instance(store, request.path_params["id"])
    letters = await delivery.dead_letters(store, current.id)
    return json_response([d.to_json() for d in letters])


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


async def retry_dead_letters(request: Request) -> Response:
    store = await admin_store(request)
    current = await delivery.get_instance(store, request.path_params["id"])
    count = await delivery.retry(store, current.id, await selected_ids(request))
    return json_response({"retried": count})


async def discard_dead_letters(request: Request) -> Response:
    store = await admin_store(request)
    current = await delivery.get_instance(store, request.path_params["id"])
    count = await delivery.discard(store, current.id, await selected_ids(request))
    return json_response({"discarded": count})


async def replay(request: Request) -> Response:
    store = await admin_store(request)
    current = await delivery.get_instance(store, request.path_params["id"])
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
    doc = await request_replay(store, current.id, bounds[0], bounds[1], now)
    return json_response({**doc.body, "id": doc.id}, status=202)


_D = "/admin/api/destinations"
ROUTES = [
    admin_route("GET", _D, list_destinations, "List destinations"),
    admin_route("POST", _D, create_destination, "Create an Amplitude destination"),
    admin_route("GET", f"{_D}/{{id}}", get_destination, "Read a destination"),
    admin_route("PUT", f"{_D}/{{id}}", replace_destination, "Replace a destination"),
    admin_route("DELETE", f"{_D}/{{id}}", delete_destination, "Delete a destination"),
    admin_route("GET", f"{_D}/{{id}}/dead-letters", list_dead_letters, "List dead letters"),
    admin_route(
        "POST", f"{_D}/{{id}}/dead-letters/retry", retry_dead_letters, "Retry dead letters"
    ),
    admin_route(
        "POST", f"{_D}/{{id}}/dead-letters/discard", discard_dead_letters, "Discard dead letters"
    ),
    admin_route("POST", f"{_D}/{{id}}/replay", replay, "Replay the log between two times"),
]
