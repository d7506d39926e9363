"""Admin routes for stream sinks.

A sink is a document of the ``streams`` collection (``{"kind", "appIds", "settings", "enabled",
"name"?}``, checked by :func:`tidings.streams.sinkconfig.check_sink`). The same sinks are reached
two ways: ``/admin/api/streams[/{id}]`` (every sink; a sink may serve several apps) and
``/admin/api/apps/{appId}/streams[/{id}]`` (the sinks serving that app; one created there
serves that app). Both offer read, delete, pause, resume and the webhook dead letters.

Each sink has its own durable cursor ``stream:<id>``, set when the sink is created: at the end
of the log (``"startAt": "now"``, the default: records from now on, as Pinpoint's stream starts
when it is attached) or at its beginning (``"startAt": "beginning"``: every stored event). Pause
keeps the cursor, so a resumed sink catches up without a gap. On a partitioned log the sink has a
cursor per partition (``stream:<id>@p<n>``): the start is written to each, and a sink's position
and how far it is behind are read over all of them (:mod:`tidings.storage.consumercursors`).

The pipeline (``tidings.pipeline.streams``, in ``tidings serve`` and ``tidings worker``) asks
every few seconds which sinks are enabled and feeds each one from its cursor.

Lists are paged. A token limited to some projects reaches only sinks whose apps are all in scope,
and may only name apps in scope in a new sink.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tidings.core.errors import InvalidInput
from tidings.server.admin import _body, app_in_scope
from tidings.server.admin_access import AdminAccess, admin_access
from tidings.server.errors import ApiError, bad_request, json_response
from tidings.server.openapi import RouteDoc, admin_route
from tidings.server.paging import page_body, page_in_memory, page_query
from tidings.storage import Document, Store
from tidings.storage.consumercursors import consumer_position, consumer_progress, move_consumer
from tidings.streams.sinkconfig import (
    STREAMS_COLLECTION,
    check_sink,
    cursor_name,
    dead_letter_collection,
    public_settings,
)

START_AT = ("now", "beginning")


# --------------------------------------------------------------------------- shared with the CLI


def stream_json(doc: Document, position: int | None = None) -> dict[str, Any]:
    """A sink as the API and the CLI show it (webhook header values masked)."""
    body = doc.body
    kind = str(body.get("kind", ""))
    settings = body.get("settings")
    enabled = body.get("enabled") is not False
    out: dict[str, Any] = {
        "id": doc.id,
        "kind": kind,
        "appIds": list(body.get("appIds") or ()),
        "settings": public_settings(kind, settings if isinstance(settings, dict) else {}),
        "enabled": enabled,
        "paused": not enabled,
        "cursor": cursor_name(doc.id),
        "createdAt": doc.created_at,
        "updatedAt": doc.updated_at,
    }
    if "name" in body:
        out["name"] = body["name"]
    if position is not None:
        out["position"] = position
    return out


async def add_stream(store: Store, body: dict[str, Any], sink_id: str) -> Document:
    """Check and store a new sink and set its cursor (``startAt`` in ``body``, default now).

    Raises :class:`InvalidInput` naming the field, or :class:`ApiError` 409 when a JSON Lines
    sink would share its directory with another one (each sink must own its directory).
    """
    body = dict(body)
    start_at = body.pop("startAt", "now")
    if start_at not in START_AT:
        raise InvalidInput("startAt", f"must be one of {', '.join(START_AT)}")
    checked = check_sink(body)
    for i, app_id in enumerate(checked["appIds"]):
        if await store.get_app(app_id) is None:
            raise InvalidInput(f"appIds[{i}]", f"no app {app_id!r}")
    if checked["kind"] == "jsonl":
        wanted = Path(checked["settings"]["directory"]).resolve()
        for doc in await store.list_documents(STREAMS_COLLECTION):
            other = doc.body.get("settings", {}).get("directory")
            if doc.body.get("kind") == "jsonl" and Path(str(other)).resolve() == wanted:
                raise ApiError(
                    409,
                    "directory_in_use",
                    f"settings.directory: sink {doc.id} already writes to {other}",
                )
    if await store.get_document(STREAMS_COLLECTION, sink_id) is not None:
        raise ApiError(409, "stream_exists", f"id: stream {sink_id!r} already exists")
    # On a partitioned log every partition cursor is put there too (consumercursors).
    await move_consumer(
        store, cursor_name(sink_id), 0 if start_at == "beginning" else await store.last_seq()
    )
    return await store.put_document(STREAMS_COLLECTION, sink_id, checked)


async def set_enabled(store: Store, doc: Document, enabled: bool) -> Document:
    """Pause or resume a sink; its cursor stays where it is."""
    if doc.body.get("enabled") is enabled:
        return doc
    return await store.put_document(STREAMS_COLLECTION, doc.id, {**doc.body, "enabled": enabled})


async def remove_stream(store: Store, doc: Document) -> None:
    """Delete a sink and its dead letters (its cursor row stays: ids are never reused)."""
    await store.delete_document(STREAMS_COLLECTION, doc.id)
    for letter in await store.list_documents(dead_letter_collection(doc.id)):
        await store.delete_document(dead_letter_collection(doc.id), letter.id)


async def position_of(store: Store, doc: Document) -> int:
    """The sink's position: the lowest of its cursors (one per partition on a partitioned
    log), read without asking the log."""
    return consumer_position(await store.list_cursors(), cursor_name(doc.id), store.partitions)


def new_stream_id() -> str:
    return f"str_{secrets.token_hex(8)}"


# --------------------------------------------------------------------------- routes


async def _app_scope(request: Request, access: AdminAccess) -> str | None:
    app_id = request.path_params.get("app_id")
    if app_id is None:
        return None
    return (await app_in_scope(access, app_id)).id


async def _stream(request: Request, access: AdminAccess) -> Document:
    app_id = await _app_scope(request, access)
    sink_id = request.path_params["id"]
    doc = await access.store.get_document(STREAMS_COLLECTION, sink_id)
    if (
        doc is None
        or (app_id is not None and app_id not in doc.body.get("appIds", ()))
        or not await access.allows_apps(doc.body.get("appIds", ()))
    ):
        raise ApiError(404, "stream_not_found", f"id: no stream {sink_id!r}")
    return doc


def _doc_key(doc: Document) -> tuple[int, str]:
    return (doc.created_at, doc.id)


async def list_streams(request: Request) -> Response:
    access = await admin_access(request)
    app_id = await _app_scope(request, access)
    query = page_query(request.query_params, "streams", (int, str))
    docs = [
        d
        for d in await access.store.list_documents(STREAMS_COLLECTION)
        if (app_id is None or app_id in d.body.get("appIds", ()))
        and await access.allows_apps(d.body.get("appIds", ()))
    ]
    cursors = await access.store.list_cursors()
    return json_response(
        page_body(
            page_in_memory(docs, query, _doc_key),
            query,
            _doc_key,
            lambda d: stream_json(
                d, consumer_position(cursors, cursor_name(d.id), access.store.partitions)
            ),
        )
    )


async def _check_app_ids(access: AdminAccess, app_ids: object) -> None:
    """A scoped token may name only apps in scope (unknown ones are refused the same way)."""
    if access.project_ids is None or not isinstance(app_ids, list):
        return
    for i, app_id in enumerate(app_ids):
        if isinstance(app_id, str) and await access.app(app_id) is None:
            raise bad_request(f"appIds[{i}]", f"no app {app_id!r}")


async def create_stream(request: Request) -> Response:
    access = await admin_access(request)
    app_id = await _app_scope(request, access)
    body = await _body(request)
    if app_id is not None:
        if "appIds" in body:
            raise bad_request("appIds", "comes from the path here (/admin/api/apps/{appId})")
        body["appIds"] = [app_id]
    await _check_app_ids(access, body.get("appIds"))
    store = access.store
    doc = await add_stream(store, body, new_stream_id())
    return json_response(stream_json(doc, await position_of(store, doc)), status=201)


async def get_stream(request: Request) -> Response:
    """The sink, its cursor position and how many log records it is behind (all apps
    counted); on a partitioned log the sum over its partition cursors, each one listed."""
    access = await admin_access(request)
    doc = await _stream(request, access)
    progress = await consumer_progress(access.store, cursor_name(doc.id))
    return json_response({**stream_json(doc), **progress.to_json()})


async def delete_stream(request: Request) -> Response:
    access = await admin_access(request)
    doc = await _stream(request, access)
    await remove_stream(access.store, doc)
    return json_response({"id": doc.id, "deleted": True})


async def pause_stream(request: Request) -> Response:
    access = await admin_access(request)
    store = access.store
    doc = await set_enabled(store, await _stream(request, access), False)
    return json_response(stream_json(doc, await position_of(store, doc)))


async def resume_stream(request: Request) -> Response:
    access = await admin_access(request)
    store = access.store
    doc = await set_enabled(store, await _stream(request, access), True)
    return json_response(stream_json(doc, await position_of(store, doc)))


def _letter_json(doc: Document) -> dict[str, Any]:
    return {**doc.body, "id": doc.id, "createdAt": doc.created_at}


async def list_dead_letters(request: Request) -> Response:
    access = await admin_access(request)
    doc = await _stream(request, access)
    query = page_query(request.query_params, "dead-letters", (int, str))
    letters = await access.store.list_documents(
        dead_letter_collection(doc.id), after=query.after, limit=query.limit + 1
    )
    return json_response(page_body(letters, query, _doc_key, _letter_json))


async def discard_dead_letters(request: Request) -> Response:
    """Delete all dead letters of a sink, or those whose ``ids`` are given."""
    access = await admin_access(request)
    store = access.store
    doc = await _stream(request, access)
    letters = await store.list_documents(dead_letter_collection(doc.id))
    if int(request.headers.get("content-length") or 0) > 0:
        body = await _body(request)
        ids = body.get("ids")
        if set(body) - {"ids"} or not isinstance(ids, list):
            raise bad_request("ids", "must be an array of dead-letter ids")
        letters = [d for d in letters if d.id in set(ids)]
    for letter in letters:
        await store.delete_document(dead_letter_collection(doc.id), letter.id)
    return json_response({"discarded": len(letters)})


def _routes(base: str, scope: str) -> list[tuple[RouteDoc, Any]]:
    one = f"{base}/{{id}}"
    return [
        admin_route("GET", base, list_streams, f"List stream sinks{scope}", paged=True),
        admin_route("POST", base, create_stream, f"Add a stream sink{scope}"),
        admin_route("GET", one, get_stream, "Read a stream sink and its cursor"),
        admin_route("DELETE", one, delete_stream, "Remove a stream sink"),
        admin_route("POST", f"{one}/pause", pause_stream, "Pause a stream sink (the cursor stays)"),
        admin_route("POST", f"{one}/resume", resume_stream, "Resume a paused stream sink"),
        admin_route(
            "GET",
            f"{one}/dead-letters",
            list_dead_letters,
            "Webhook batches refused for good",
            paged=True,
        ),
        admin_route(
            "POST", f"{one}/dead-letters/discard", discard_dead_letters, "Discard dead letters"
        ),
    ]


ROUTES = [
    *_routes("/admin/api/streams", ""),
    *_routes("/admin/api/apps/{app_id}/streams", " of an app"),
]
