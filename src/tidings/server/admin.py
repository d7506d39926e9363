"""The admin API (``/admin/api``): projects, apps and keys, campaigns, catalogs and stats.

Every route needs ``Authorization: Bearer <admin token>``; tokens are checked only against admin
tokens, so an app key or a write key never opens these routes. Campaign bodies are validated by
:func:`tidings.core.campaigns.parse_campaign` before they are stored, and state changes follow the
dashboard's machine: Draft → Active → Cancel → Active; only Draft and Cancel may be deleted.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from tidings.core.campaigns import parse_campaign
from tidings.core.errors import InvalidCampaign
from tidings.core.events import json_type
from tidings.server.auth import bearer_token
from tidings.server.body import read_json_object
from tidings.server.errors import ApiError, bad_request, json_response
from tidings.server.state import server_state, store_of
from tidings.server.validate import reject_unknown, settings_patch, text
from tidings.storage import (
    CAMPAIGN_STATES,
    Application,
    Campaign,
    Project,
    ProjectSettings,
    Store,
)

TRANSITIONS: dict[str, frozenset[str]] = {
    "Draft": frozenset({"Active"}),
    "Active": frozenset({"Cancel"}),
    "Cancel": frozenset({"Active"}),
}
DELETABLE_STATES = frozenset({"Draft", "Cancel"})
MAX_RECENT = 1000


async def admin_store(request: Request) -> Store:
    """The store, once the bearer token is known to be an active admin token."""
    token = bearer_token(request)
    store = store_of(request)
    if not await store.verify_admin_token(token):
        raise ApiError(401, "invalid_admin_token", "Authorization: unknown or revoked admin token")
    return store


async def _body(request: Request) -> dict[str, Any]:
    return await read_json_object(request, server_state(request).settings.max_body_bytes)


def project_json(project: Project) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": project.id,
        "name": project.name,
        "settings": project.settings.to_json(),
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


def campaign_json(campaign: Campaign) -> dict[str, Any]:
    body = dict(campaign.body)
    body.update(id=campaign.id, state=campaign.state, createdAt=campaign.created_at)
    return body


async def _project(store: Store, project_id: str) -> Project:
    project = await store.get_project(project_id)
    if project is None:
        raise ApiError(404, "project_not_found", f"projectId: no project {project_id!r}")
    return project


async def _app(store: Store, app_id: str) -> Application:
    app = await store.get_app(app_id)
    if app is None:
        raise ApiError(404, "app_not_found", f"appId: no app {app_id!r}")
    return app


async def find_campaign(store: Store, campaign_id: str) -> Campaign:
    campaign = await store.get_campaign(campaign_id)
    if campaign is None:
        raise ApiError(404, "campaign_not_found", f"id: no campaign {campaign_id!r}")
    return campaign


# --------------------------------------------------------------------------- projects


async def list_projects(request: Request) -> Response:
    store = await admin_store(request)
    return json_response([project_json(p) for p in await store.list_projects()])


def _settings_body(body: dict[str, Any]) -> dict[str, Any]:
    raw = body.get("settings")
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise bad_request("settings", f"must be an object, not {json_type(raw)}")
    return settings_patch(raw)


async def create_project(request: Request) -> Response:
    store = await admin_store(request)
    body = await _body(request)
    reject_unknown(body, ("name", "settings"))
    name = text(body, "name")
    assert name is not None
    settings = ProjectSettings.from_json(_settings_body(body))
    project = await store.create_project(name, settings)
    return json_response(project_json(project), status=201)


async def get_project(request: Request) -> Response:
    store = await admin_store(request)
    return json_response(project_json(await _project(store, request.path_params["project_id"])))


async def patch_project(request: Request) -> Response:
    """Change settings: ``{"settings": {...}}`` or the settings keys at the top level."""
    store = await admin_store(request)
    project = await _project(store, request.path_params["project_id"])
    body = await _body(request)
    if "settings" in body:
        reject_unknown(body, ("settings",))
        patch = _settings_body(body)
    else:
        patch = settings_patch(body, path="")
    updated = await store.update_project_settings(project.id, project.settings.merged(patch))
    return json_response(project_json(updated))


async def rotate_import_key(request: Request) -> Response:
    store = await admin_store(request)
    project = await _project(store, request.path_params["project_id"])
    key = await store.rotate_data_import_key(project.id)
    return json_response({"projectId": project.id, "dataImportKey": key}, status=201)


# --------------------------------------------------------------------------- apps and keys


async def list_apps(request: Request) -> Response:
    store = await admin_store(request)
    project = await _project(store, request.path_params["project_id"])
    return json_response([app_json(a) for a in await store.list_apps(project.id)])


async def create_app(request: Request) -> Response:
    store = await admin_store(request)
    project = await _project(store, request.path_params["project_id"])
    body = await _body(request)
    reject_unknown(body, ("name", "platform"))
    name = text(body, "name")
    platform = text(body, "platform", max_length=64)
    assert name is not None and platform is not None
    credentials = await store.create_app(project.id, name, platform)
    return json_response(credentials.to_json(), status=201)


async def get_app(request: Request) -> Response:
    store = await admin_store(request)
    return json_response(app_json(await _app(store, request.path_params["app_id"])))


async def list_keys(request: Request) -> Response:
    store = await admin_store(request)
    app = await _app(store, request.path_params["app_id"])
    return json_response(
        [
            {
                "apiKeyPublic": k.api_key_public,
                "createdAt": k.created_at,
                "revokedAt": k.revoked_at,
                "active": k.active,
            }
            for k in await store.list_keys(app.id)
        ]
    )


async def rotate_keys(request: Request) -> Response:
    store = await admin_store(request)
    app = await _app(store, request.path_params["app_id"])
    return json_response((await store.rotate_keys(app.id)).to_json(), status=201)


async def revoke_key(request: Request) -> Response:
    store = await admin_store(request)
    app = await _app(store, request.path_params["app_id"])
    public = request.path_params["api_key_public"]
    if not await store.revoke_key(app.id, public):
        raise ApiError(404, "key_not_found", f"apiKeyPublic: no active key {public!r} for this app")
    return json_response({"apiKeyPublic": public, "revoked": True})


async def rotate_write_key(request: Request) -> Response:
    store = await admin_store(request)
    app = await _app(store, request.path_params["app_id"])
    return json_response(
        {"appId": app.id, "writeKey": await store.rotate_write_key(app.id)}, status=201
    )


async def revoke_write_key(request: Request) -> Response:
    store = await admin_store(request)
    app = await _app(store, request.path_params["app_id"])
    key = request.path_params["write_key"]
    if not await store.revoke_write_key(app.id, key):
        raise ApiError(404, "key_not_found", "writeKey: not an active write key of this app")
    return json_response({"revoked": True})


# --------------------------------------------------------------------------- campaigns


def _check_campaign(body: dict[str, Any], campaign_id: str) -> None:
    """Validate with the core model; the server fills ``id``/``createdAt`` it owns."""
    candidate = {**body, "id": campaign_id}
    candidate.pop("createdAt", None)
    try:
        parse_campaign(candidate)
    except InvalidCampaign as exc:
        raise bad_request(exc.field, exc.reason, "invalid_campaign") from None


def _state_param(value: object, where: str) -> str:
    if value not in CAMPAIGN_STATES:
        raise bad_request(where, f"must be one of {', '.join(CAMPAIGN_STATES)}")
    assert isinstance(value, str)
    return value


async def app_campaigns(store: Store, app_id: str, state: str | None = None) -> list[Campaign]:
    """An app's campaigns, all or those in one state."""
    app = await _app(store, app_id)
    if state is not None:
        _state_param(state, "state")
    return await store.list_campaigns(app.id, state)  # type: ignore[arg-type]


async def list_campaigns(request: Request) -> Response:
    store = await admin_store(request)
    app_id = request.path_params["app_id"]
    campaigns = await app_campaigns(store, app_id, request.query_params.get("state"))
    return json_response([campaign_json(c) for c in campaigns])


async def add_campaign(store: Store, app_id: str, body: dict[str, Any]) -> Campaign:
    """Create a campaign of an app from its JSON body (``state`` defaults to Draft)."""
    app = await _app(store, app_id)
    state = _state_param(body.get("state", "Draft"), "state")
    wanted_id = body.get("id")
    if wanted_id is not None:
        if not isinstance(wanted_id, str) or not wanted_id:
            raise bad_request("id", "must be a non-empty string when given")
        if await store.get_campaign(wanted_id) is not None:
            raise ApiError(409, "campaign_exists", f"id: campaign {wanted_id!r} already exists")
    _check_campaign(body, wanted_id or "new")
    stored = {k: v for k, v in body.items() if k not in ("createdAt", "state")}
    return await store.create_campaign(app.id, stored, state)  # type: ignore[arg-type]


async def create_campaign(request: Request) -> Response:
    store = await admin_store(request)
    body = await _body(request)
    campaign = await add_campaign(store, request.path_params["app_id"], body)
    return json_response(campaign_json(campaign), status=201)


async def get_campaign(request: Request) -> Response:
    store = await admin_store(request)
    return json_response(
        campaign_json(await find_campaign(store, request.path_params["campaign_id"]))
    )


async def replace_campaign(request: Request) -> Response:
    store = await admin_store(request)
    current = await find_campaign(store, request.path_params["campaign_id"])
    body = await _body(request)
    if body.get("id", current.id) != current.id:
        raise bad_request("id", "does not match the campaign in the path")
    if body.get("state", current.state) != current.state:
        raise ApiError(
            409,
            "state_change_not_allowed",
            "state: change it with POST /admin/api/campaigns/{id}/state",
        )
    _check_campaign(body, current.id)
    stored = {k: v for k, v in body.items() if k not in ("id", "createdAt", "state")}
    return json_response(campaign_json(await store.replace_campaign(current.id, stored)))


async def remove_campaign(store: Store, campaign_id: str) -> Campaign:
    """Delete a Draft or Cancel campaign (an Active one must be stopped first)."""
    current = await find_campaign(store, campaign_id)
    if current.state not in DELETABLE_STATES:
        raise ApiError(
            409, "campaign_active", "state: an Active campaign must be cancelled before deletion"
        )
    await store.delete_campaign(current.id)
    return current


async def delete_campaign(request: Request) -> Response:
    store = await admin_store(request)
    removed = await remove_campaign(store, request.path_params["campaign_id"])
    return json_response({"id": removed.id, "deleted": True})


async def change_campaign_state(store: Store, campaign_id: str, wanted: object) -> Campaign:
    """Start (``Active``) or stop (``Cancel``) a campaign: Draft → Active → Cancel → Active."""
    current = await find_campaign(store, campaign_id)
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
        _check_campaign(dict(current.body), current.id)
    return await store.set_campaign_state(current.id, wanted)


async def set_campaign_state(request: Request) -> Response:
    store = await admin_store(request)
    body = await _body(request)
    reject_unknown(body, ("state",))
    campaign_id = request.path_params["campaign_id"]
    return json_response(
        campaign_json(await change_campaign_state(store, campaign_id, body.get("state")))
    )


async def campaign_stats(request: Request) -> Response:
    store = await admin_store(request)
    current = await find_campaign(store, request.path_params["campaign_id"])
    return json_response((await store.campaign_stats(current.id)).to_json())


# --------------------------------------------------------------------------- catalogs


async def event_catalog(request: Request) -> Response:
    store = await admin_store(request)
    app = await _app(store, request.path_params["app_id"])
    return json_response([e.to_json() for e in await store.event_catalog(app.id)])


async def property_catalog(request: Request) -> Response:
    store = await admin_store(request)
    app = await _app(store, request.path_params["app_id"])
    return json_response([p.to_json() for p in await store.property_catalog(app.id)])


async def recent_events(request: Request) -> Response:
    store = await admin_store(request)
    app = await _app(store, request.path_params["app_id"])
    raw = request.query_params.get("limit", "50")
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_RECENT:
        raise bad_request("limit", f"must be an integer between 1 and {MAX_RECENT}")
    records = await store.recent_events(app.id, int(raw))
    return json_response(
        [
            {
                "seq": r.seq,
                "id": r.item_id,
                "name": r.name,
                "timestamp": r.timestamp,
                "arrivalTime": r.arrival_ms,
                "deviceId": r.device_id,
                "userId": r.user_id,
                "payload": _decoded(r.payload),
            }
            for r in records
        ]
    )


def _decoded(payload: bytes) -> Any:
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError:
        return payload.decode("utf-8", "replace")


async def list_cohorts(request: Request) -> Response:
    store = await admin_store(request)
    project_id = request.query_params.get("projectId")
    cohorts = await store.list_cohorts(project_id)
    return json_response(
        [
            {
                "id": c.id,
                "projectId": c.project_id,
                "name": c.name,
                "displayName": c.display_name,
                "createdAt": c.created_at,
                "memberCount": c.member_count,
            }
            for c in cohorts
        ]
    )
