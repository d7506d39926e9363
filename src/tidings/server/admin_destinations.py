"""Admin routes for an app's Amplitude destination instances, their dead letters and replays.

``/admin/api/apps/{app_id}/destinations``: create, list; ``.../{id}``: read, update (PATCH merges
top-level keys, ``settings`` key by key), delete (its outbox and dead letters go too);
``.../{id}/pause`` and ``/resume``; ``.../{id}/dead-letters`` (list), ``/retry`` and ``/discard``
(body ``{"ids": [...]}`` or nothing for all); ``.../{id}/replay {from, to}`` (epoch ms or ISO
8601) records a replay request the instance's sender runs (202).

Secrets in the settings (``secretKey``, a password in ``baseUrl``) are write-only: shown masked,
and a write that sends the mask back keeps the stored value. A token limited to some projects
reaches an instance only when every app it serves is in scope.

Handlers only write configuration and requests; delivery happens in the pipeline.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tidings.core.errors import InvalidInput
from tidings.destinations.amplitude.settings import keep_secrets, with_public_settings
from tidings.pipeline import deadletters
from tidings.pipeline.amplitude import parse_time_bound, request_replay, sql_store
from tidings.pipeline.instances import (
    Instance,
    create_instance,
    delete_instance,
    get_instance,
    list_instances,
    set_paused,
    update_instance,
)
from tidings.server.admin import _body, app_in_scope
from tidings.server.admin_access import AdminAccess, admin_access
from tidings.server.errors import ApiError, bad_request, json_response
from tidings.server.openapi import admin_route
from tidings.server.paging import PageQuery, page_body, page_in_memory, page_query
from tidings.server.state import server_state
from tidings.server.validate import reject_unknown
from tidings.storage import NotFoundError
from tidings.storage.outbox import list_dead_letters


def destination_json(instance: Instance) -> dict[str, Any]:
    """An instance as the API shows it: secrets masked."""
    return with_public_settings(instance.to_json())


def with_kept_secrets(body: dict[str, Any], current: Instance) -> dict[str, Any]:
    """``body`` with masked secrets it sends back replaced by ``current``'s stored values."""
    settings = body.get("settings")
    stored = current.body.get("settings")
    if isinstance(settings, Mapping) and isinstance(stored, Mapping):
        return {**body, "settings": keep_secrets(settings, stored)}
    return body


async def visible_instance(
    access: AdminAccess, instance_id: str, app_id: str | None = None
) -> Instance:
    """The instance (of ``app_id`` when given), or 404 when it does not exist or serves an app
    outside the token's projects."""
    instance = await get_instance(access.store, instance_id, app_id)
    if not await access.allows_apps(instance.app_ids):
        raise NotFoundError("destination", instance_id)
    return instance


async def visible_instances(access: AdminAccess, app_id: str | None = None) -> list[Instance]:
    """The instances (of ``app_id`` when given) the token may see."""
    found = await list_instances(access.store, app_id)
    return [i for i in found if await access.allows_apps(i.app_ids)]


def instance_page(instances: list[Instance], query: PageQuery) -> dict[str, Any]:
    def key(i: Instance) -> tuple[int, str]:
        return (i.created_at, i.id)

    return page_body(page_in_memory(instances, query, key), query, key, destination_json)


async def dead_letter_page(request: Request, access: AdminAccess, instance: Instance) -> Response:
    """One page of an instance's dead letters, oldest first."""
    query = page_query(request.query_params, "dead-letters", (int, str))
    after = (int(query.after[0]), str(query.after[1])) if query.after is not None else None
    letters = await list_dead_letters(
        sql_store(access.store), instance.id, query.limit + 1, after=after
    )
    return json_response(
        page_body(letters, query, lambda d: (d.created_at, d.id), lambda d: d.to_json())
    )


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


def _app_id(request: Request) -> str:
    return str(request.path_params["app_id"])


async def _instance(request: Request, access: AdminAccess) -> Instance:
    app = await app_in_scope(access, _app_id(request))
    return await visible_instance(access, str(request.path_params["id"]), app.id)


def _invalid(exc: InvalidInput) -> ApiError:
    return bad_request(exc.field, exc.reason, "invalid_destination")


async def create(request: Request) -> Response:
    access = await admin_access(request)
    app = await app_in_scope(access, _app_id(request))
    try:
        instance = await create_instance(access.store, app.id, await _body(request))
    except InvalidInput as exc:
        raise _invalid(exc) from None
    return json_response(destination_json(instance), status=201)


async def list_all(request: Request) -> Response:
    access = await admin_access(request)
    app = await app_in_scope(access, _app_id(request))
    query = page_query(request.query_params, "destinations", (int, str))
    return json_response(instance_page(await visible_instances(access, app.id), query))


async def read(request: Request) -> Response:
    access = await admin_access(request)
    instance = await _instance(request, access)
    body = destination_json(instance)
    body["outbox"] = await deadletters.pending(access.store, instance.id)
    return json_response(body)


async def update(request: Request) -> Response:
    access = await admin_access(request)
    current = await _instance(request, access)
    patch = with_kept_secrets(await _body(request), current)
    try:
        instance = await update_instance(access.store, current.id, patch, _app_id(request))
    except InvalidInput as exc:
        raise _invalid(exc) from None
    return json_response(destination_json(instance))


async def delete(request: Request) -> Response:
    access = await admin_access(request)
    instance = await _instance(request, access)
    await delete_instance(access.store, instance.id, _app_id(request))
    await deadletters.forget(access.store, instance.id)
    return json_response({"id": instance.id, "deleted": True})


async def pause(request: Request) -> Response:
    access = await admin_access(request)
    instance = await _instance(request, access)
    now = server_state(request).settings.now_ms()
    paused = await set_paused(access.store, instance.id, "paused by an operator", now)
    return json_response(destination_json(paused))


async def resume(request: Request) -> Response:
    access = await admin_access(request)
    instance = await _instance(request, access)
    return json_response(destination_json(await set_paused(access.store, instance.id, None)))


async def list_dead(request: Request) -> Response:
    access = await admin_access(request)
    return await dead_letter_page(request, access, await _instance(request, access))


async def retry_dead(request: Request) -> Response:
    access = await admin_access(request)
    instance = await _instance(request, access)
    ids = await selected_ids(request)
    return json_response({"retried": await deadletters.retry(access.store, instance.id, ids)})


async def discard_dead(request: Request) -> Response:
    access = await admin_access(request)
    instance = await _instance(request, access)
    count = await deadletters.discard(access.store, instance.id, await selected_ids(request))
    return json_response({"discarded": count})


def _bound(body: dict[str, Any], key: str) -> int:
    if key not in body:
        raise bad_request(key, "is required (epoch milliseconds or an ISO 8601 time)")
    try:
        return parse_time_bound(key, body[key])
    except InvalidInput as exc:
        raise bad_request(exc.field, exc.reason) from None


async def replay(request: Request) -> Response:
    access = await admin_access(request)
    instance = await _instance(request, access)
    body = await _body(request)
    reject_unknown(body, ("from", "to"))
    start, end = _bound(body, "from"), _bound(body, "to")
    if start >= end:
        raise bad_request("to", "must be after from")
    now = server_state(request).settings.now_ms()
    doc = await request_replay(access.store, instance.id, start, end, now)
    return json_response({**doc.body, "id": doc.id}, status=202)


_P = "/admin/api/apps/{app_id}/destinations"
ROUTES = [
    admin_route("GET", _P, list_all, "List the app's Amplitude destinations", paged=True),
    admin_route("POST", _P, create, "Create an Amplitude destination for the app"),
    admin_route("GET", f"{_P}/{{id}}", read, "Read a destination (with its outbox size)"),
    admin_route("PATCH", f"{_P}/{{id}}", update, "Change a destination"),
    admin_route("DELETE", f"{_P}/{{id}}", delete, "Delete a destination, its outbox, dead letters"),
    admin_route("POST", f"{_P}/{{id}}/pause", pause, "Pause sending (events keep queueing)"),
    admin_route("POST", f"{_P}/{{id}}/resume", resume, "Resume sending"),
    admin_route("GET", f"{_P}/{{id}}/dead-letters", list_dead, "List dead letters", paged=True),
    admin_route("POST", f"{_P}/{{id}}/dead-letters/retry", retry_dead, "Retry dead letters"),
    admin_route("POST", f"{_P}/{{id}}/dead-letters/discard", discard_dead, "Discard dead letters"),
    admin_route("POST", f"{_P}/{{id}}/replay", replay, "Replay a time range of the log"),
]
