"""The ASGI application factory.

``create_app(store, settings)`` serves an already-open store (tests, embedding);
``create_app_for_url(url, settings)`` opens the store in the server's own event loop at startup
and closes it at shutdown (``tidings serve``). Handlers validate, write to storage and return;
nothing here calls a destination.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tidings.core.errors import InvalidInput
from tidings.server import (
    admin,
    admin_destinations,
    admin_streams,
    admin_tokens,
    audience,
    cohorts,
    config,
    dashboard,
    ingest,
    public_clients,
    public_ingest,
    results,
    segment,
)
from tidings.server.errors import (
    ApiError,
    error_response,
    handle_api_error,
    handle_http_exception,
    handle_invalid_input,
    json_response,
    unavailable_response,
)
from tidings.server.maintenance import prune_stored_responses
from tidings.server.metrics import render_lag
from tidings.server.middleware import ServerTimeMiddleware
from tidings.server.openapi import RouteDoc, admin_route, openapi_document
from tidings.server.settings import ServerSettings
from tidings.server.state import ServerState, server_state
from tidings.storage import NotFoundError, Store, StoreError, StoreUnavailable, open_store
from tidings.storage.logstatus import log_status
from tidings.version import VERSION

log = logging.getLogger("tidings.server")

Handler = Callable[[Request], Awaitable[Response]]


async def healthz(request: Request) -> Response:
    """200 while the store serves reads and writes; 503 naming the reason otherwise.

    The write state is the writer's own: a write the database refused makes this 503 until a
    write succeeds again (the store probes now and then while it is unhealthy).
    """
    store = server_state(request).store
    failure: str | None = "not open"
    if store is not None:
        failure = await store.health()
    if failure is None:
        return json_response({"status": "ok"})
    return unavailable_response(f"store: {failure}", "store_unreachable")


async def metrics(request: Request) -> Response:
    state = server_state(request)
    body = state.metrics.render()
    store = state.store
    if store is not None and store.partitions > 1:
        # Lag per consumer and partition, where the log is partitioned (scaled out).
        with contextlib.suppress(Exception):
            body += render_lag(await log_status(store))
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")


async def openapi(request: Request) -> Response:
    return json_response(openapi_document((doc for doc, _ in ROUTES), VERSION))


async def handle_store_error(request: Request, exc: Exception) -> Response:
    """The database refused or is unreachable: not the client's fault, and worth a retry.

    An unavailable database was logged once by the store when its state changed; any other
    store error is logged here, without a traceback.
    """
    if not isinstance(exc, StoreUnavailable):
        log.warning("store error on %s %s: %s", request.method, request.url.path, exc)
    return unavailable_response("store: the database could not serve this; retry later")


async def handle_not_found(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, NotFoundError)
    return error_response(404, f"{exc.kind}_not_found", f"{exc.kind}: {exc.ident!r} not found")


def _r(  # noqa: PLR0917 - a row of the route table
    method: str, path: str, handler: Handler, summary: str, tag: str, auth: str | None = None
) -> tuple[RouteDoc, Handler]:
    return RouteDoc(method, path, summary, tag, auth, method in ("POST", "PUT", "PATCH")), handler


def _list(path: str, handler: Handler, summary: str) -> tuple[RouteDoc, Handler]:
    """A paged admin listing (``limit``, ``cursor`` → ``{"items", "next"}``)."""
    return admin_route("GET", path, handler, summary, paged=True)


_A = "/admin/api"
ROUTES: list[tuple[RouteDoc, Handler]] = [
    _r(
        "POST",
        "/api/v1/session",
        ingest.session_upload,
        "Upload sessions, events, decisions",
        "device",
        "signature",
    ),
    _r(
        "GET",
        "/api/v1/config",
        config.config_manifest,
        "Config manifest (ETag / If-None-Match)",
        "device",
        "apiKey",
    ),
    _r("GET", "/api/v1/time", ingest.server_time, "Server clock (epoch ms)", "device"),
    *public_ingest.ROUTES,
    *(
        _r(
            "POST",
            f"/v1/{kind}",
            segment.single(kind),
            f"Segment {kind} call",
            "segment",
            "writeKey",
        )
        for kind in ("track", "identify", "group", "alias", "page", "screen")
    ),
    _r("POST", "/v1/batch", segment.batch, "Segment batch", "segment", "writeKey"),
    _list(f"{_A}/projects", admin.list_projects, "List projects"),
    _r("POST", f"{_A}/projects", admin.create_project, "Create a project", "admin", "adminToken"),
    _r(
        "GET",
        f"{_A}/projects/{{project_id}}",
        admin.get_project,
        "Read a project",
        "admin",
        "adminToken",
    ),
    _r(
        "PATCH",
        f"{_A}/projects/{{project_id}}",
        admin.patch_project,
        "Change project settings",
        "admin",
        "adminToken",
    ),
    _r(
        "POST",
        f"{_A}/projects/{{project_id}}/data-import-key",
        admin.rotate_import_key,
        "Create (or rotate) the data import key",
        "admin",
        "adminToken",
    ),
    _r(
        "DELETE",
        f"{_A}/projects/{{project_id}}/data-import-key",
        admin.revoke_import_key,
        "Revoke the data import key without making a new one",
        "admin",
        "adminToken",
    ),
    _list(f"{_A}/projects/{{project_id}}/apps", admin.list_apps, "List apps"),
    _r(
        "POST",
        f"{_A}/projects/{{project_id}}/apps",
        admin.create_app,
        "Create an app (secrets shown once)",
        "admin",
        "adminToken",
    ),
    _r("GET", f"{_A}/apps/{{app_id}}", admin.get_app, "Read an app", "admin", "adminToken"),
    _list(f"{_A}/apps/{{app_id}}/keys", admin.list_keys, "List API key pairs"),
    _r(
        "POST",
        f"{_A}/apps/{{app_id}}/keys",
        admin.rotate_keys,
        "Add a new API key pair",
        "admin",
        "adminToken",
    ),
    _r(
        "DELETE",
        f"{_A}/apps/{{app_id}}/keys/{{api_key_public}}",
        admin.revoke_key,
        "Revoke an API key pair",
        "admin",
        "adminToken",
    ),
    _r(
        "POST",
        f"{_A}/apps/{{app_id}}/write-keys",
        admin.rotate_write_key,
        "Add a write key",
        "admin",
        "adminToken",
    ),
    _r(
        "DELETE",
        f"{_A}/apps/{{app_id}}/write-keys/{{write_key}}",
        admin.revoke_write_key,
        "Revoke a write key",
        "admin",
        "adminToken",
    ),
    _list(f"{_A}/apps/{{app_id}}/campaigns", admin.list_campaigns, "List campaigns (?state=)"),
    _r(
        "POST",
        f"{_A}/apps/{{app_id}}/campaigns",
        admin.create_campaign,
        "Create a campaign",
        "admin",
        "adminToken",
    ),
    _r(
        "GET",
        f"{_A}/campaigns/{{campaign_id}}",
        admin.get_campaign,
        "Read a campaign",
        "admin",
        "adminToken",
    ),
    _r(
        "POST",
        f"{_A}/apps/{{app_id}}/audience",
        audience.estimate_route,
        "Estimate how many known devices a Who (targeting) matches",
        "admin",
        "adminToken",
    ),
    _r(
        "PUT",
        f"{_A}/campaigns/{{campaign_id}}",
        admin.replace_campaign,
        "Replace a campaign",
        "admin",
        "adminToken",
    ),
    _r(
        "DELETE",
        f"{_A}/campaigns/{{campaign_id}}",
        admin.delete_campaign,
        "Delete a Draft or Cancel campaign",
        "admin",
        "adminToken",
    ),
    _r(
        "POST",
        f"{_A}/campaigns/{{campaign_id}}/state",
        admin.set_campaign_state,
        "Change campaign state",
        "admin",
        "adminToken",
    ),
    _r(
        "GET",
        f"{_A}/campaigns/{{campaign_id}}/stats",
        admin.campaign_stats,
        "Campaign stats",
        "admin",
        "adminToken",
    ),
    _r(
        "GET",
        f"{_A}/campaigns/{{campaign_id}}/results",
        results.results_endpoint,
        "Campaign results: conversions per treatment and control (?from=&to=&format=csv)",
        "admin",
        "adminToken",
    ),
    _list(f"{_A}/apps/{{app_id}}/events", admin.event_catalog, "Events catalog"),
    _list(f"{_A}/apps/{{app_id}}/events/recent", admin.recent_events, "Newest stored events"),
    _list(f"{_A}/apps/{{app_id}}/properties", admin.property_catalog, "Custom-property catalog"),
    _list(f"{_A}/cohorts", admin.list_cohorts, "Imported cohorts (?projectId=)"),
    *admin_tokens.ROUTES,
    *public_clients.ROUTES,
    *admin_destinations.ROUTES,
    *admin_streams.ROUTES,
    _r(
        "POST",
        "/partners/amplitude/cohorts",
        cohorts.upsert_cohort,
        "Create or rename a cohort",
        "cohorts",
        "partner",
    ),
    _r(
        "POST",
        "/partners/amplitude/cohorts/users",
        cohorts.change_members,
        "Change cohort members",
        "cohorts",
        "partner",
    ),
    _r("GET", "/openapi.json", openapi, "This document", "meta"),
    _r("GET", "/healthz", healthz, "200 when the store answers", "meta"),
    _r("GET", "/metrics", metrics, "Prometheus metrics", "meta"),
]


def _starlette(
    state: ServerState, lifespan: Callable[[Starlette], AsyncIterator[None]] | None
) -> Starlette:
    app = Starlette(
        routes=[
            *(Route(doc.path, handler, methods=[doc.method]) for doc, handler in ROUTES),
            *dashboard.routes(),
        ],
        middleware=[Middleware(ServerTimeMiddleware, state=state)],
        exception_handlers={
            ApiError: handle_api_error,
            InvalidInput: handle_invalid_input,
            NotFoundError: handle_not_found,
            StoreError: handle_store_error,
            HTTPException: handle_http_exception,
        },
        lifespan=asynccontextmanager(lifespan) if lifespan is not None else None,
    )
    app.state.tidings = state
    return app


def create_app(store: Store, settings: ServerSettings | None = None) -> Starlette:
    """An app serving an open store; the caller closes the store."""
    return _starlette(ServerState(settings or ServerSettings(), store), None)


def create_app_for_url(
    db_url: str,
    settings: ServerSettings | None = None,
    server_key: bytes | None = None,
    *,
    pipeline: bool = False,
    key_file: Path | None = None,
    log: str | None = None,
) -> Starlette:
    """An app that opens ``db_url`` when the server starts and closes it when it stops.

    ``log`` (a ``nats://`` URL) puts the event log on JetStream beside the database: an upload
    is answered once the stream acknowledged its items.

    The server key is ``server_key``, else read from ``key_file``, else found as
    :func:`tidings.storage.open_store` finds it.

    With ``pipeline`` the event-log consumers (conversions, destinations, streams) run in the
    background of the same process, started after the store opens and stopped before it closes.
    """
    state = ServerState(settings or ServerSettings())

    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        state.store = await open_store(db_url, server_key=server_key, key_file=key_file, log=log)
        runner = None
        if pipeline:
            from tidings.pipeline import PipelineSettings, start_pipeline

            limits = state.settings.catalog_limits  # the counting consumer's, as ingest's
            runner = await start_pipeline(state.store, PipelineSettings(catalog_limits=limits))
        pruning = asyncio.create_task(prune_stored_responses(state.store, state.settings))
        profiles = asyncio.create_task(state.profiles.run(state.store))
        try:
            yield
        finally:
            for task in (pruning, profiles):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await state.profiles.flush(state.store)  # the last updates, before the store closes
            if runner is not None:
                await runner.stop()
            store, state.store = state.store, None
            await store.close()

    return _starlette(state, lifespan)
