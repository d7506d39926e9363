"""``GET /api/v1/config``: the configuration manifest a device fetches, with ETag / 304.

The manifest's ``version`` (also the ``ETag``) is derived from the store's config revision for the
app plus the requesting user's cohort list, so a device whose cached copy is current gets a 304
without the server loading or serialising a single campaign.

Both answers carry the revision itself in ``X-Config-Revision``, and so does every upload
response: a running SDK compares it with the revision of its configuration and asks again only
when it moved (docs/sdk.md, "Configuration").
"""

from __future__ import annotations

import hashlib

from starlette.requests import Request
from starlette.responses import Response

from tidings.core.campaigns import is_server_campaign
from tidings.server.auth import public_key_header
from tidings.server.errors import ApiError, bad_request, json_response
from tidings.server.state import store_of
from tidings.storage import SigningKey

CONFIG_REVISION_HEADER = "X-Config-Revision"


def manifest_version(app_id: str, revision: int, cohorts: list[str]) -> str:
    """An opaque version string that changes whenever the manifest for this caller can."""
    material = f"{app_id}\n{revision}\n" + "\n".join(cohorts)
    return hashlib.sha256(material.encode("utf-8")).hexdigest()[:24]


def etag_matches(if_none_match: str, version: str) -> bool:
    """``If-None-Match`` holds a list of (possibly weak) entity tags, or ``*``."""
    for candidate in if_none_match.split(","):
        tag = candidate.strip()
        if tag == "*":
            return True
        if tag.startswith("W/"):
            tag = tag[2:]
        if tag.strip('"') == version:
            return True
    return False


def _query_id(request: Request, name: str) -> str | None:
    value = request.query_params.get(name)
    if value is None or value == "":
        return None
    if len(value) > 255:
        raise bad_request(name, "must be at most 255 characters")
    return value


async def config_manifest(request: Request) -> Response:
    store = store_of(request)
    api_key = public_key_header(request)
    key = await store.signing_key(api_key)
    if key is None:
        raise ApiError(403, "invalid_api_key", "X-Api-Key: unknown or revoked key")
    return await manifest_response(request, key)


async def manifest_response(request: Request, key: SigningKey) -> Response:
    """The manifest for the app of ``key`` (or 304), shared with the public-client endpoint."""
    store = store_of(request)
    user_id = _query_id(request, "userId")
    device_id = _query_id(request, "deviceId")
    revision = await store.config_revision(key.app_id)
    cohorts = (
        await store.cohorts_for(key.project_id, user_id, device_id) if user_id or device_id else []
    )
    version = manifest_version(key.app_id, revision, cohorts)
    headers = {
        "ETag": f'"{version}"',
        "Cache-Control": "no-cache",
        CONFIG_REVISION_HEADER: str(revision),
    }
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None and etag_matches(if_none_match, version):
        return Response(status_code=304, headers=headers)
    project = await store.get_project(key.project_id)
    if project is None:
        raise ApiError(403, "invalid_api_key", "X-Api-Key: the key's project no longer exists")
    campaigns = await store.list_campaigns(key.app_id, "Active")
    manifest = {
        "version": version,
        # Server campaigns run on the server only: a device never sees them.
        # Archived campaigns cannot start; one archived while Active is never served either.
        "campaigns": [
            dict(c.body)
            for c in campaigns
            if not is_server_campaign(c.body) and c.body.get("archived") is not True
        ],
        "settings": project.settings.device_json(),
        "cohorts": cohorts,
    }
    return json_response(manifest, headers=headers)
