"""Admin routes for destinations (Amplitude instances) and their dead letters (stream sinks:
``admin_streams``).

Their configuration is stored as documents (``Store.put_document``) so the delivery workers read
it without a schema of their own. Work for those workers is handed over the same way:

- dead letters of destination ``D`` are rows of the ``dead_letters`` table (request, response,
  reason), shared with ``/admin/api/apps/{app}/destinations`` (``tidings.pipeline.deadletters``);
- ``.../dead-letters/retry`` puts them back into the outbox; ``.../discard`` deletes them (all,
  or the ``ids`` given);
- ``.../replay {from, to}`` records a request in ``replays:D`` for the worker to re-read the log
  between those epoch-ms times.
"""

from __future__ import annotations

import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tidings.core.errors import InvalidInput
from tidings.core.events import json_type
from tidings.destinations.amplitude.instance import Destination as AmplitudeDestination
from tidings.destinations.amplitude.instance import currents_from_json
from tidings.pipeline import deadletters
from tidings.server.admin import _body, admin_store
from tidings.server.errors import ApiError, bad_request, json_response
from tidings.server.openapi import admin_route
from tidings.server.state import server_state
from tidings.server.validate import reject_unknown
from tidings.storage import Document, Store

DESTINATIONS = "destinations"
DESTINATION_KINDS = ("amplitude", "amplitude-currents")
MAX_SUBSCRIPTIONS = 50


def _doc_json(doc: Document) -> dict[str, Any]:
    return {**doc.body, "id": doc.id, "createdAt": doc.created_at, "updatedAt": doc.updated_at}


async def _app_ids(store: Store, body: dict[str, Any]) -> list[str]:
    raw = body.get("appIds")
    if not isinstance(raw, list) or not raw:
        raise bad_request("appIds", "is required (a non-empty array of app ids)")
    for i, app_id in enumerate(raw):
        if not isinstance(app_id, str) or await store.get_app(app_id) is None:
            raise bad_request(f"appIds[{i}]", f"no app {app_id!r}")
    return list(dict.fromkeys(raw))


def _object(body: dict[str, Any], key: str) -> dict[str, Any]:
    value = body.get(key, {})
    if not isinstance(value, dict):
        raise bad_request(key, f"must be an object, not {json_type(value)}")
    return value


async def _destination_body(store: Store, body: dict[str, Any]) -> dict[str, Any]:
    """Check a destination with the destination layer's own parsers (settings, subscriptions:
    action names, FQL triggers, mappings), so what is stored is what the worker can run."""
    reject_unknown(body, ("kind", "name", "appIds", "settings", "subscriptions", "enabled", "id"))
    kind = body.get("kind")
    if kind not in DESTINATION_KINDS:
        raise bad_request("kind", f"must be one of {', '.join(DESTINATION_KINDS)}")
    settings = _object(body, "settings")
    subscriptions = body.get("subscriptions")
    if subscriptions is not None and (
        not isinstance(subscriptions, list) or len(subscriptions) > MAX_SUBSCRIPTIONS
    ):
        raise bad_request(
            "subscriptions", f"must be an array of at most {MAX_SUBSCRIPTIONS} objects"
        )
    try:
        if kind == "amplitude":
            AmplitudeDestination.from_json({"settings": settings, "subscriptions": subscriptions})
        else:
            currents_from_json({"settings": settings})
    except InvalidInput as exc:
        raise bad_request(exc.field, exc.reason, "invalid_destination") from None
    enabled = body.get("enabled", True)
    if not isinstance(enabled, bool):
        raise bad_request("enabled", "must be a boolean")
    out: dict[str, Any] = {
        "kind": kind,
        "appIds": await _app_ids(store, body),
        "settings": settings,
        "enabled": enabled,
    }
    if subscriptions is not None:  # absent: the instance gets every preset
        out["subscriptions"] = subscriptions
    if isinstance(body.get("name"), str):
        out["name"] = body["name"]
    return out


async def _get(store: Store, collection: str, doc_id: str) -> Document:
    doc = await store.get_document(collection, doc_id)
    if doc is None:
        noun = collection.removesuffix("s")
        raise ApiError(404, f"{noun}_not_found", f"id: no {noun} {doc_id!r}")
    return doc


def _new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


async def list_destinations(request: Request) -> Response:
    store = await admin_store(request)
    return json_response([_doc_json(d) for d in await store.list_documents(DESTINATIONS)])


async def create_destination(request: Request) -> Response:
    store = await admin_store(request)
    body = await _destination_body(store, await _body(request))
    doc = await store.put_document(DESTINATIONS, _new_id("dst"), body)
    return json_response(_doc_json(doc), status=201)


async def get_destination(request: Request) -> Response:
    store = await admin_store(request)
    return json_response(_doc_json(await _get(store, DESTINATIONS, request.path_params["id"])))


async def replace_destination(request: Request) -> Response:
    store = await admin_store(request)
    current = await _get(store, DESTINATIONS, request.path_params["id"])
    body = await _destination_body(store, await _body(request))
    return json_response(_doc_json(await store.put_document(DESTINATIONS, current.id, body)))


async def delete_destination(request: Request) -> Response:
    store = await admin_store(request)
    current = await _get(store, DESTINATIONS, request.path_params["id"])
    await store.delete_document(DESTINATIONS, current.id)
    await deadletters.forget(store, current.id)
    return json_response({"id": current.id, "deleted": True})


async def list_dead_letters(request: Request) -> Response:
    store = await admin_store(request)
    current = await _get(store, DESTINATIONS, request.path_params["id"])
    letters = await deadletters.dead_letters(store, current.id)
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
    current = await _get(store, DESTINATIONS, request.path_params["id"])
    count = await deadletters.retry(store, current.id, await selected_ids(request))
    return json_response({"retried": count})


async def discard_dead_letters(request: Request) -> Response:
    store = await admin_store(request)
    current = await _get(store, DESTINATIONS, request.path_params["id"])
    count = await deadletters.discard(store, current.id, await selected_ids(request))
    return json_response({"discarded": count})


async def replay(request: Request) -> Response:
    store = await admin_store(request)
    current = await _get(store, DESTINATIONS, request.path_params["id"])
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
    doc = await store.put_document(
        f"replays:{current.id}",
        _new_id("rpl"),
        {"from": bounds[0], "to": bounds[1], "requestedAt": now, "status": "pending"},
    )
    return json_response(_doc_json(doc), status=202)


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
