"""Cohort import, Braze-style partner API (``/partners/amplitude/cohorts[/users]``).

Amplitude's cohort sync speaks Braze's partner protocol: both keys travel in the JSON body,
``partner_api_key`` (who the partner is) and ``client_secret`` (the project's data import key).
Membership changes are deltas applied idempotently; ids of users Tidings has never seen are
remembered, not turned into users, so they match as soon as such a user shows up.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tidings.core.events import json_type
from tidings.server.body import read_json_object
from tidings.server.errors import ApiError, bad_request, json_response
from tidings.server.state import server_state, store_of
from tidings.storage import CohortChange, NotFoundError, Project, Store

COHORT_FIELDS = ("partner_api_key", "client_secret", "cohort_id")


async def _authenticated(request: Request) -> tuple[Store, Project, dict[str, Any]]:
    state = server_state(request)
    body = await read_json_object(request, state.settings.max_body_bytes)
    partner_key = body.get("partner_api_key")
    if not isinstance(partner_key, str) or not partner_key:
        raise ApiError(401, "invalid_partner_key", "partner_api_key: Invalid Partner API key")
    expected = state.settings.partner_api_key
    if expected is not None and partner_key != expected:
        raise ApiError(401, "invalid_partner_key", "partner_api_key: Invalid Partner API key")
    secret = body.get("client_secret")
    store = store_of(request)
    project = (
        await store.project_for_import_key(secret) if isinstance(secret, str) and secret else None
    )
    if project is None:
        raise ApiError(401, "invalid_client_secret", "client_secret: Invalid client secret")
    cohort_id = body.get("cohort_id")
    if not isinstance(cohort_id, str) or not cohort_id.strip() or len(cohort_id) > 255:
        raise bad_request("cohort_id", "cohort_id must be a valid string", "invalid_cohort_id")
    return store, project, body


def _created_at(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, str) and value:
        text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            pass
        else:
            if moment.tzinfo is not None:
                return int(moment.timestamp() * 1000)
    raise bad_request(
        "created_at", "created_at must be a valid time as an ISO-8601 string", "invalid_created_at"
    )


async def upsert_cohort(request: Request) -> Response:
    """Create a cohort or rename it (``{cohort_id, name, created_at}``)."""
    store, project, body = await _authenticated(request)
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 255:
        raise bad_request("name", "name must be a non-empty string", "invalid_name")
    cohort = await store.upsert_cohort(
        project.id, body["cohort_id"], name, _created_at(body.get("created_at"))
    )
    return json_response(
        {
            "message": "success",
            "cohort": {
                "id": cohort.id,
                "name": cohort.name,
                "displayName": cohort.display_name,
                "memberCount": cohort.member_count,
            },
        },
        status=201,
    )


def _ids(item: dict[str, Any], key: str, where: str) -> list[str]:
    value = item.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise bad_request(
            f"{where}.{key}", "must be an array of non-empty strings", "invalid_cohort_changes"
        )
    return value


def parse_changes(raw: object, max_ids: int) -> list[CohortChange]:
    """``cohort_changes``: objects with ``user_ids`` and/or ``device_ids``, ``should_remove``."""
    if not isinstance(raw, list):
        raise bad_request(
            "cohort_changes",
            "cohort_changes must be an array of objects each with key user_ids and/or "
            f"device_ids mapping to an array of strings, not {json_type(raw)}",
            "invalid_cohort_changes",
        )
    changes: list[CohortChange] = []
    total = 0
    for i, item in enumerate(raw):
        where = f"cohort_changes[{i}]"
        if not isinstance(item, dict):
            raise bad_request(where, "must be an object", "invalid_cohort_changes")
        if "aliases" in item:
            raise bad_request(
                f"{where}.aliases",
                "user aliases are not supported; send user_ids or device_ids",
                "invalid_cohort_changes",
            )
        for key in item:
            if key not in ("user_ids", "device_ids", "should_remove"):
                raise bad_request(f"{where}.{key}", "unknown field", "invalid_cohort_changes")
        user_ids = _ids(item, "user_ids", where)
        device_ids = _ids(item, "device_ids", where)
        if not user_ids and not device_ids:
            raise bad_request(where, "needs user_ids and/or device_ids", "invalid_cohort_changes")
        remove = item.get("should_remove", False)
        if not isinstance(remove, bool):
            raise bad_request(
                f"{where}.should_remove", "must be a boolean", "invalid_cohort_changes"
            )
        total += len(user_ids) + len(device_ids)
        if total > max_ids:
            raise bad_request(
                "cohort_changes",
                f"Only {max_ids:,} user_ids and device_ids are allowed per request",
                "too_many_ids",
            )
        changes.append(CohortChange(tuple(user_ids), tuple(device_ids), remove))
    return changes


async def change_members(request: Request) -> Response:
    """Apply membership deltas (``{cohort_id, cohort_changes}``) in one transaction."""
    store, project, body = await _authenticated(request)
    changes = parse_changes(
        body.get("cohort_changes"), server_state(request).settings.max_cohort_ids
    )
    try:
        cohort = await store.apply_cohort_changes(project.id, body["cohort_id"], changes)
    except NotFoundError:
        raise ApiError(
            404,
            "cohort_not_found",
            f"cohort_id: no cohort {body['cohort_id']!r}; create it with POST "
            "/partners/amplitude/cohorts first",
        ) from None
    return json_response(
        {"message": "success", "cohort": {"id": cohort.id, "memberCount": cohort.member_count}}
    )
