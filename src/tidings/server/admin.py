"""The admin API (``/admin/api``): projects, apps and keys, campaigns, catalogs and stats.

Every route needs ``Authorization: Bearer <admin token>``; tokens are checked only against admin
tokens, so an app key or a write key never opens these routes, and a token limited to some
projects sees only those (:mod:`tidings.server.admin_access`: anything else is a 404). Lists are
paged (:mod:`tidings.server.paging`). Campaign bodies are validated by
:func:`tidings.core.campaigns.validate_campaign`, with the project's allowed deep-link schemes,
before they are stored (a 400 lists every problem), and state changes follow the dashboard's
machine: Draft → Active → Cancel → Active; only Draft and Cancel may be deleted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from tidings.core.campaigns import validate_campaign
from tidings.core.events import json_type
from tidings.server.admin_access import AdminAccess, admin_access
from tidings.server.body import read_json_object
from tidings.server.campaign_checks import unknown_cohorts
from tidings.server.campaign_destinations import check_destinations
from tidings.server.campaign_versions import conflict, etag, if_match
from tidings.server.errors import ApiError, bad_request, invalid_input, json_response
from tidings.server.paging import page_body, page_query
from tidings.server.state import server_state
from tidings.server.validate import reject_unknown, settings_patch, text
from tidings.storage import (
    CAMPAIGN_STATES,
    ApiKeyInfo,
    Application,
    Cohort,
    LogRecord,
    Project,
    ProjectConfig,
    Store,
    StoredCampaign,
    VersionConflict,
)

TRANSITIONS: dict[str, frozenset[str]] = {
    "Draft": frozenset({"Active"}),
    "Active": frozenset({"Cancel"}),
    "Cancel": frozenset({"Active"}),
}
DELETABLE_STATES = frozenset({"Draft", "Cancel"})
RECENT_DEFAULT = 50


async def _body(request: Request) -> dict[str, Any]:
    return await read_json_object(request, server_state(request).settings.max_body_bytes)


def project_json(project: Project) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": project.id,
        "name": project.name,
        "settings": project.settings.to_json(),
        "awsAccountId": project.aws_account_id,
        "dataImportKeyActive": project.import_key_active,
        "createdAt": project.created_at,
    }
    if project.data_import_key is not None:
        out["dataImportKey"] = project.data_import_key
    return out


def app_json(app: Application) -> dict[str, Any]:
    return {
        "appId": app.id,
        "projectId": app.project_id,
        "name": app.name,
        "platform": app.platform,
        "createdAt": app.created_at,
    }


def campaign_json(campaign: StoredCampaign) -> dict[str, Any]:
    body = dict(campaign.body)
    body.update(id=campaign.id, state=campaign.state, createdAt=campaign.created_at)
    return body


async def project_in_scope(access: AdminAccess, project_id: str) -> Project:
    """The project, or 404 when it does not exist or is outside the token's projects."""
    project = await access.project(project_id)
    if project is None:
        raise ApiError(404, "project_not_found", f"projectId: no project {project_id!r}")
    return project


async def app_in_scope(access: AdminAccess, app_id: str) -> Application:
    """The app, or 404 when it does not exist or is outside the token's projects."""
    app = await access.app(app_id)
    if app is None:
        raise ApiError(404, "app_not_found", f"appId: no app {app_id!r}")
    return app


async def find_campaign(access: AdminAccess, campaign_id: str) -> StoredCampaign:
    """The campaign, or 404 when it does not exist or its app is outside the token's scope."""
    campaign = await access.campaign(campaign_id)
    if campaign is None:
        raise ApiError(404, "campaign_not_found", f"id: no campaign {campaign_id!r}")
    return campaign


# --------------------------------------------------------------------------- projects


async def list_projects(request: Request) -> Response:
    access = await admin_access(request)
    query = page_query(request.query_params, "projects", (int, str))
    fetched = await access.store.list_projects(
        ids=access.project_ids, after=query.after, limit=query.limit + 1
    )
    return json_response(page_body(fetched, query, lambda p: (p.created_at, p.id), project_json))


def _settings_body(body: dict[str, Any]) -> dict[str, Any]:
    raw = body.get("settings")
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise bad_request("settings", f"must be an object, not {json_type(raw)}")
    return settings_patch(raw)


async def create_project(request: Request) -> Response:
    access = await admin_access(request)
    access.require_unscoped("creating a project")
    store = access.store
    body = await _body(request)
    reject_unknown(body, ("name", "settings"))
    name = text(body, "name")
    assert name is not None
    settings = ProjectConfig.from_json(_settings_body(body))
    project = await store.create_project(name, settings)
    return json_response(project_json(project), status=201)


async def get_project(request: Request) -> Response:
    access = await admin_access(request)
    return json_response(
        project_json(await project_in_scope(access, request.path_params["project_id"]))
    )


async def patch_project(request: Request) -> Response:
    """Change settings: ``{"settings": {...}}`` or the settings keys at the top level."""
    access = await admin_access(request)
    project = await project_in_scope(access, request.path_params["project_id"])
    body = await _body(request)
    if "settings" in body:
        reject_unknown(body, ("settings",))
        patch = _settings_body(body)
    else:
        patch = settings_patch(body, path="")
    updated = await access.store.update_project_settings(project.id, project.settings.merged(patch))
    return json_response(project_json(updated))


async def rotate_import_key(request: Request) -> Response:
    access = await admin_access(request)
    project = await project_in_scope(access, request.path_params["project_id"])
    key = await access.store.rotate_data_import_key(project.id)
    return json_response({"projectId": project.id, "dataImportKey": key}, status=201)


async def revoke_import_key(request: Request) -> Response:
    """Cohort imports stop authenticating until a new key is made (``POST`` makes one)."""
    access = await admin_access(request)
    project = await project_in_scope(access, request.path_params["project_id"])
    if not await access.store.revoke_data_import_key(project.id):
        raise ApiError(
            404, "data_import_key_not_found", "the project has no active data import key"
        )
    return Response(status_code=204)


# --------------------------------------------------------------------------- apps and keys


async def list_apps(request: Request) -> Response:
    access = await admin_access(request)
    project = await project_in_scope(access, request.path_params["project_id"])
    query = page_query(request.query_params, "apps", (int, str))
    fetched = await access.store.list_apps(project.id, after=query.after, limit=query.limit + 1)
    return json_response(page_body(fetched, query, lambda a: (a.created_at, a.id), app_json))


async def create_app(request: Request) -> Response:
    access = await admin_access(request)
    project = await project_in_scope(access, request.path_params["project_id"])
    body = await _body(request)
    reject_unknown(body, ("name", "platform"))
    name = text(body, "name")
    platform = text(body, "platform", max_length=64)
    assert name is not None and platform is not None
    credentials = await access.store.create_app(project.id, name, platform)
    return json_response(credentials.to_json(), status=201)


async def get_app(request: Request) -> Response:
    access = await admin_access(request)
    return json_response(app_json(await app_in_scope(access, request.path_params["app_id"])))


def _key_json(key: ApiKeyInfo) -> dict[str, Any]:
    return {
        "apiKeyPublic": key.api_key_public,
        "createdAt": key.created_at,
        "revokedAt": key.revoked_at,
        "active": key.active,
    }


async def list_keys(request: Request) -> Response:
    access = await admin_access(request)
    app = await app_in_scope(access, request.path_params["app_id"])
    query = page_query(request.query_params, "keys", (int, str))
    fetched = await access.store.list_keys(app.id, after=query.after, limit=query.limit + 1)
    return json_response(
        page_body(fetched, query, lambda k: (k.created_at, k.api_key_public), _key_json)
    )


async def rotate_keys(request: Request) -> Response:
    access = await admin_access(request)
    store = access.store
    app = await app_in_scope(access, request.path_params["app_id"])
    return json_response((await store.rotate_keys(app.id)).to_json(), status=201)


async def revoke_key(request: Request) -> Response:
    access = await admin_access(request)
    store = access.store
    app = await app_in_scope(access, request.path_params["app_id"])
    public = request.path_params["api_key_public"]
    if not await store.revoke_key(app.id, public):
        raise ApiError(404, "key_not_found", f"apiKeyPublic: no active key {public!r} for this app")
    return json_response({"apiKeyPublic": public, "revoked": True})


async def rotate_write_key(request: Request) -> Response:
    access = await admin_access(request)
    store = access.store
    app = await app_in_scope(access, request.path_params["app_id"])
    return json_response(
        {"appId": app.id, "writeKey": await store.rotate_write_key(app.id)}, status=201
    )


async def revoke_write_key(request: Request) -> Response:
    access = await admin_access(request)
    store = access.store
    app = await app_in_scope(access, request.path_params["app_id"])
    key = request.path_params["write_key"]
    if not await store.revoke_write_key(app.id, key):
        raise ApiError(404, "key_not_found", "writeKey: not an active write key of this app")
    return json_response({"revoked": True})


# --------------------------------------------------------------------------- campaigns


async def _check_campaign(store: Store, app_id: str, body: dict[str, Any]) -> None:
    """The core validator's rules with the project's deep-link schemes, and the cohorts it
    names must exist: every problem in one 400 (``error.errors``); then what a server campaign
    calls must be a destination of its app that takes calls."""
    app = await store.get_app(app_id)
    project = await store.get_project(app.project_id) if app is not None else None
    schemes = project.settings.deep_link_schemes if project is not None else None
    errors = validate_campaign(body, allowed_schemes=schemes)
    if project is not None:
        errors += await unknown_cohorts(store, project.id, body)
    if errors:
        raise invalid_input(errors, "invalid_campaign")
    await check_destinations(store, app_id, body)


def _state_param(value: object, where: str) -> str:
    if value not in CAMPAIGN_STATES:
        raise bad_request(where, f"must be one of {', '.join(CAMPAIGN_STATES)}")
    assert isinstance(value, str)
    return value


async def app_campaigns(
    access: AdminAccess, app_id: str, state: str | None = None
) -> list[StoredCampaign]:
    """Every campaign of an app, or those in one state (for the command line: unpaged)."""
    app = await app_in_scope(access, app_id)
    if state is not None:
        _state_param(state, "state")
    return await access.store.list_campaigns(app.id, state)  # type: ignore[arg-type]


async def list_campaigns(request: Request) -> Response:
    access = await admin_access(request)
    app = await app_in_scope(access, request.path_params["app_id"])
    state = request.query_params.get("state")
    if state is not None:
        _state_param(state, "state")
    query = page_query(request.query_params, "campaigns", (int, str))
    fetched = await access.store.list_campaigns(
        app.id,
        state,  # type: ignore[arg-type]
        after=query.after,
        limit=query.limit + 1,
    )
    return json_response(page_body(fetched, query, lambda c: (c.created_at, c.id), campaign_json))


def check_archived(state: object, body: Mapping[str, Any]) -> None:
    """An Active campaign cannot be archived, and an archived one cannot be Active (409): the
    ``archived`` flag is for campaigns no device is showing."""
    if "archived" in body and not isinstance(body["archived"], bool):
        raise bad_request("archived", "must be true or false")
    if state == "Active" and body.get("archived") is True:
        raise ApiError(
            409,
            "campaign_archived",
            "archived: an Active campaign cannot be archived, nor an archived one started;"
            " stop it first, or restore it",
        )


async def add_campaign(access: AdminAccess, app_id: str, body: dict[str, Any]) -> StoredCampaign:
    """Create a campaign of an app from its JSON body (``state`` defaults to Draft)."""
    store = access.store
    app = await app_in_scope(access, app_id)
    await _check_campaign(store, app.id, body)
    state = body.get("state") or "Draft"
    check_archived(state, body)
    wanted_id = body.get("id")
    if wanted_id is not None and await store.get_campaign(wanted_id) is not None:
        raise ApiError(409, "campaign_exists", f"id: campaign {wanted_id!r} already exists")
    stored = {k: v for k, v in body.items() if k not in ("createdAt", "state")}
    return await store.create_campaign(app.id, stored, state)  # type: ignore[arg-type]


async def create_campaign(request: Request) -> Response:
    access = await admin_access(request)
    body = await _body(request)
    campaign = await add_campaign(access, request.path_params["app_id"], body)
    return json_response(campaign_json(campaign), status=201)


async def get_campaign(request: Request) -> Response:
    access = await admin_access(request)
    campaign = await find_campaign(access, request.path_params["campaign_id"])
    return json_response(campaign_json(campaign), headers={"ETag": etag(campaign)})


async def replace_campaign(request: Request) -> Response:
    """Replace a campaign; with ``If-Match``, only the version the client read (else 412)."""
    access = await admin_access(request)
    store = access.store
    current = await find_campaign(access, request.path_params["campaign_id"])
    expected = if_match(request)
    if expected is not None and expected != current.version:
        return conflict(current)
    body = await _body(request)
    if body.get("id", current.id) != current.id:
        raise bad_request("id", "does not match the campaign in the path")
    if body.get("state", current.state) != current.state:
        raise ApiError(
            409,
            "state_change_not_allowed",
            "state: change it with POST /admin/api/campaigns/{id}/state",
        )
    await _check_campaign(store, current.app_id, body)
    check_archived(current.state, body)
    stored = {k: v for k, v in body.items() if k not in ("id", "createdAt", "state")}
    try:
        saved = await store.replace_campaign(current.id, stored, if_version=expected)
    except VersionConflict as exc:  # saved by someone else between the read and the write
        return conflict(exc.current)
    return json_response(campaign_json(saved), headers={"ETag": etag(saved)})


async def remove_campaign(access: AdminAccess, campaign_id: str) -> StoredCampaign:
    """Delete a Draft or Cancel campaign (an Active one must be stopped first)."""
    current = await find_campaign(access, campaign_id)
    if current.state not in DELETABLE_STATES:
        raise ApiError(
            409, "campaign_active", "state: an Active campaign must be cancelled before deletion"
        )
    await access.store.delete_campaign(current.id)
    return current


async def delete_campaign(request: Request) -> Response:
    access = await admin_access(request)
    removed = await remove_campaign(access, request.path_params["campaign_id"])
    return json_response({"id": removed.id, "deleted": True})


async def change_campaign_state(
    access: AdminAccess, campaign_id: str, wanted: object
) -> StoredCampaign:
    """Start (``Active``) or stop (``Cancel``) a campaign: Draft → Active → Cancel → Active."""
    store = access.store
    current = await find_campaign(access, campaign_id)
    if wanted not in ("Active", "Cancel"):
        raise bad_request("state", "must be 'Active' or 'Cancel'")
    assert isinstance(wanted, str)
    if wanted == current.state:
        return current
    if wanted not in TRANSITIONS[current.state]:
        raise ApiError(
            409,
            "invalid_transition",
            f"state: a {current.state} campaign cannot become {wanted} "
            "(Draft → Active → Cancel → Active)",
        )
    if wanted == "Active":
        check_archived(wanted, current.body)
        await _check_campaign(store, current.app_id, dict(current.body))
    return await store.set_campaign_state(current.id, wanted)


async def set_campaign_state(request: Request) -> Response:
    access = await admin_access(request)
    body = await _body(request)
    reject_unknown(body, ("state",))
    campaign_id = request.path_params["campaign_id"]
    return json_response(
        campaign_json(await change_campaign_state(access, campaign_id, body.get("state")))
    )


async def campaign_stats(request: Request) -> Response:
    access = await admin_access(request)
    current = await find_campaign(access, request.path_params["campaign_id"])
    return json_response((await access.store.campaign_stats(current.id)).to_json())


# --------------------------------------------------------------------------- catalogs


async def event_catalog(request: Request) -> Response:
    access = await admin_access(request)
    app = await app_in_scope(access, request.path_params["app_id"])
    query = page_query(request.query_params, "events", (str, str))
    fetched = await access.store.event_catalog(app.id, after=query.after, limit=query.limit + 1)
    return json_response(
        page_body(fetched, query, lambda e: (e.type, e.name), lambda e: e.to_json())
    )


async def property_catalog(request: Request) -> Response:
    access = await admin_access(request)
    app = await app_in_scope(access, request.path_params["app_id"])
    query = page_query(request.query_params, "properties", (str,))
    fetched = await access.store.property_catalog(app.id, after=query.after, limit=query.limit + 1)
    return json_response(page_body(fetched, query, lambda p: (p.key,), lambda p: p.to_json()))


def _recent_json(record: LogRecord) -> dict[str, Any]:
    return {
        "seq": record.seq,
        "id": record.item_id,
        "name": record.name,
        "timestamp": record.timestamp,
        "arrivalTime": record.arrival_ms,
        "deviceId": record.device_id,
        "userId": record.user_id,
        "payload": _decoded(record.payload),
    }


async def recent_events(request: Request) -> Response:
    """Newest first; the next page holds the events stored before the last one shown."""
    access = await admin_access(request)
    app = await app_in_scope(access, request.path_params["app_id"])
    query = page_query(request.query_params, "recent", (int,), default=RECENT_DEFAULT)
    before = query.after[0] if query.after is not None else None
    fetched = await access.store.recent_events(app.id, query.limit + 1, before_seq=before)
    return json_response(page_body(fetched, query, lambda r: (r.seq,), _recent_json))


def _decoded(payload: bytes) -> Any:
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError:
        return payload.decode("utf-8", "replace")


def _cohort_json(cohort: Cohort) -> dict[str, Any]:
    return {
        "id": cohort.id,
        "projectId": cohort.project_id,
        "name": cohort.name,
        "displayName": cohort.display_name,
        "createdAt": cohort.created_at,
        "memberCount": cohort.member_count,
    }


async def list_cohorts(request: Request) -> Response:
    """Cohorts of ``?projectId=`` (404 outside the token's projects), else of every project
    the token may see."""
    access = await admin_access(request)
    project_id = request.query_params.get("projectId")
    projects = access.project_ids
    if project_id is not None:
        projects = ((await project_in_scope(access, project_id)).id,)
    query = page_query(request.query_params, "cohorts", (int, str, str))
    fetched = await access.store.list_cohorts(
        project_ids=projects, after=query.after, limit=query.limit + 1
    )
    return json_response(
        page_body(fetched, query, lambda c: (c.created_at, c.project_id, c.id), _cohort_json)
    )
