"""The OpenAPI 3.1 document served at ``/openapi.json``, generated from the route table.

Each route declares its method, path, summary, tag and auth scheme; this module turns that table
into ``paths`` so the document can never list an endpoint the server lacks (or miss one).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

_PARAM = re.compile(r"{([a-zA-Z_]+)}")

SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "signature": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Signature",
        "description": "Hex HMAC-SHA256 keyed with apiKeySecret over METHOD + PATH_WITH_QUERY + "
        "RAW_BODY + X-Timestamp; with X-Api-Key, X-Timestamp and X-Request-Id.",
    },
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
    "writeKey": {
        "type": "http",
        "scheme": "basic",
        "description": "Segment auth: the write key as user name, empty password.",
    },
    "adminToken": {"type": "http", "scheme": "bearer"},
    "partner": {
        "type": "apiKey",
        "in": "query",
        "name": "client_secret",
        "description": "partner_api_key and client_secret (the data import key) in the JSON body.",
    },
}

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "errors": {
                    "type": "array",
                    "description": "Every problem of the body, when it can have several",
                    "items": {
                        "type": "object",
                        "required": ["path", "message"],
                        "properties": {"path": {"type": "string"}, "message": {"type": "string"}},
                    },
                },
            },
        }
    },
}


def _obj(required: tuple[str, ...] = (), **props: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        out["required"] = list(required)
    return out


_STR: dict[str, Any] = {"type": "string"}
_INT: dict[str, Any] = {"type": "integer"}
_MS: dict[str, Any] = {"type": "integer", "description": "epoch milliseconds"}
_REF = "#/components/schemas/"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": _REF + name}


def _array(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": item}


_PRIMITIVE: dict[str, Any] = {"type": ["string", "number", "boolean"]}
SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": ERROR_SCHEMA,
    "Event": _obj(
        ("id", "name", "type", "timestamp"),
        id=_STR,
        name={"type": "string", "maxLength": 255},
        type={"enum": ["custom", "system"]},
        timestamp=_MS,
        sessionId={"type": ["string", "null"]},
        properties={"type": "object", "additionalProperties": _PRIMITIVE},
    ),
    "Decision": _obj(
        ("id", "campaignId", "status", "timestamp"),
        id=_STR,
        campaignId=_STR,
        status=_STR,
        treatmentId=_STR,
        source=_STR,
        eventId=_STR,
        timestamp=_MS,
    ),
    "Upload": _obj(
        ("device", "events"),
        appId=_STR,
        device=_obj(
            ("deviceId",),
            **{
                k: _STR
                for k in (
                    "deviceId",
                    "platform",
                    "osVersion",
                    "appVersion",
                    "appInstallVersion",
                    "country",
                    "timezone",
                    "locale",
                    "model",
                    "manufacturer",
                )
            },
            sdk=_obj(name=_STR, version=_STR),
        ),
        user=_obj(userId={"type": ["string", "null"]}, customProperties={"type": "object"}),
        sessions={
            **_array(
                _obj(
                    ("id",),
                    id=_STR,
                    counter=_INT,
                    type={"enum": ["cold", "warm"]},
                    startedAt=_MS,
                    endedAt={"type": ["integer", "null"]},
                )
            ),
            "maxItems": 100,
        },
        events={**_array(_ref("Event")), "maxItems": 1000},
        decisions={**_array(_ref("Decision")), "maxItems": 1000},
        dropped={"type": "integer", "minimum": 0},
    ),
    "Page": _obj(
        ("items", "next"),
        items={"type": "array"},
        next={
            "type": ["string", "null"],
            "description": "cursor of the next page; null at the end",
        },
    ),
    "AdminToken": _obj(
        ("id", "name", "createdAt", "lastUsedAt", "expiresAt", "projectIds", "revokedAt"),
        id=_STR,
        name=_STR,
        createdAt=_MS,
        lastUsedAt={"type": ["integer", "null"], "description": "epoch ms, to the minute"},
        expiresAt={"type": ["integer", "null"]},
        projectIds={"type": ["array", "null"], "items": _STR},
        revokedAt={"type": ["integer", "null"]},
        token={**_STR, "description": "only in the response that creates the token"},
    ),
    "Rejection": _obj(
        ("code", "field", "message"), index=_INT, code=_STR, field=_STR, message=_STR
    ),
    "UploadResult": _obj(
        ("accepted", "duplicates", "rejected", "serverTime"),
        accepted=_INT,
        duplicates=_INT,
        rejected=_array(_ref("Rejection")),
        decisions=_obj(accepted=_INT, duplicates=_INT, rejected=_array(_ref("Rejection"))),
        sessions=_obj(rejected=_array(_ref("Rejection"))),
        device=_obj(rejected=_array(_ref("Rejection"))),
        serverTime=_MS,
    ),
    "ProjectSettings": _obj(
        sessionTimeoutSeconds=_INT,
        frequencyCapping={"type": ["object", "null"]},
        configRefreshSeconds=_INT,
        deepLinkSchemes={
            "type": ["array", "null"],
            "items": _STR,
            "description": "schemes campaign deep links may use; null: any but javascript, "
            "data and vbscript (admin API only, not in the manifest)",
        },
        awsAccountId={
            "type": ["string", "null"],
            "description": "admin API only (never in the manifest); null: the project id",
        },
    ),
    "Manifest": _obj(
        ("version", "campaigns", "settings", "cohorts"),
        version=_STR,
        campaigns=_array({"type": "object"}),
        settings=_ref("ProjectSettings"),
        cohorts=_array(_STR),
    ),
    "Project": _obj(
        ("id", "name", "settings", "createdAt"),
        id=_STR,
        name=_STR,
        settings=_ref("ProjectSettings"),
        awsAccountId={**_STR, "description": "awsAccountId of campaign stream records"},
        dataImportKeyActive={"type": "boolean"},
        createdAt=_MS,
        dataImportKey={**_STR, "description": "only in the response that creates the project"},
    ),
    "AppCredentials": _obj(
        ("appId", "apiKeyPublic", "apiKeySecret", "writeKey"),
        appId=_STR,
        apiKeyPublic=_STR,
        apiKeySecret=_STR,
        writeKey=_STR,
    ),
    "Campaign": {
        "type": "object",
        "description": "docs/spec/campaigns.md; id, state and createdAt are set by the server",
    },
    "SegmentMessage": _obj(
        type={"enum": ["track", "identify", "group", "alias", "page", "screen"]},
        messageId=_STR,
        userId=_STR,
        anonymousId=_STR,
        event=_STR,
        name=_STR,
        properties={"type": "object"},
        traits={"type": "object"},
        context={"type": "object"},
        integrations={"type": "object"},
        timestamp=_STR,
        originalTimestamp=_STR,
        sentAt=_STR,
    ),
    "SegmentBatch": _obj(("batch",), batch=_array(_ref("SegmentMessage")), sentAt=_STR),
    "CohortUpsert": _obj(
        ("partner_api_key", "client_secret", "cohort_id", "name"),
        partner_api_key=_STR,
        client_secret=_STR,
        cohort_id=_STR,
        name=_STR,
        created_at=_STR,
    ),
    "CohortChanges": _obj(
        ("partner_api_key", "client_secret", "cohort_id", "cohort_changes"),
        partner_api_key=_STR,
        client_secret=_STR,
        cohort_id=_STR,
        cohort_changes=_array(
            _obj(
                user_ids=_array(_STR),
                device_ids=_array(_STR),
                should_remove={"type": "boolean"},
            )
        ),
    ),
}

ROUTE_SCHEMAS: dict[tuple[str, str], tuple[str | None, str | None]] = {
    ("POST", "/api/v1/session"): ("Upload", "UploadResult"),
    ("GET", "/api/v1/config"): (None, "Manifest"),
    ("POST", "/v1/batch"): ("SegmentBatch", None),
    ("POST", "/admin/api/projects"): (None, "Project"),
    ("POST", "/admin/api/projects/{project_id}/apps"): (None, "AppCredentials"),
    ("POST", "/admin/api/apps/{app_id}/campaigns"): ("Campaign", "Campaign"),
    ("POST", "/admin/api/tokens"): (None, "AdminToken"),
    ("GET", "/admin/api/tokens/{token_id}"): (None, "AdminToken"),
    ("PUT", "/admin/api/campaigns/{campaign_id}"): ("Campaign", "Campaign"),
    ("GET", "/admin/api/campaigns/{campaign_id}"): (None, "Campaign"),
    ("POST", "/partners/amplitude/cohorts"): ("CohortUpsert", None),
    ("POST", "/partners/amplitude/cohorts/users"): ("CohortChanges", None),
    **{
        ("POST", f"/v1/{kind}"): ("SegmentMessage", None)
        for kind in ("track", "identify", "group", "alias", "page", "screen")
    },
}


@dataclass(frozen=True, slots=True)
class RouteDoc:
    method: str
    path: str
    summary: str
    tag: str
    auth: str | None = None
    has_body: bool = False
    paged: bool = False
    """A listing: takes ``limit`` and ``cursor`` and answers ``{"items", "next"}``."""


def admin_route(
    method: str, path: str, handler: Any, summary: str, *, paged: bool = False
) -> tuple[RouteDoc, Any]:
    """An admin API route (bearer admin token) and its OpenAPI entry; writes carry a body."""
    has_body = method in ("POST", "PUT", "PATCH")
    return RouteDoc(method, path, summary, "admin", "adminToken", has_body, paged), handler


PAGE_PARAMETERS: list[dict[str, Any]] = [
    {
        "name": "limit",
        "in": "query",
        "required": False,
        "description": "Items per page (default 100, at most 1000).",
        "schema": {"type": "integer", "minimum": 1, "maximum": 1000},
    },
    {
        "name": "cursor",
        "in": "query",
        "required": False,
        "description": "The `next` of the previous page (opaque).",
        "schema": {"type": "string"},
    },
]


def _slug(path: str) -> str:
    return re.sub(r"[^a-zA-Z0-9]+", "_", path).strip("_")


def _param_name(name: str) -> str:
    parts = name.split("_")
    return parts[0] + "".join(p.title() for p in parts[1:])


def openapi_document(routes: Iterable[RouteDoc], version: str) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        path = _PARAM.sub(lambda m: "{" + _param_name(m.group(1)) + "}", route.path)
        operation: dict[str, Any] = {
            "summary": route.summary,
            "tags": [route.tag],
            "operationId": f"{route.method.lower()}_{_slug(path)}",
            "responses": {
                "2XX": {"description": "Success", "content": {"application/json": {}}},
                "4XX": {
                    "description": "Error naming the offending field",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                },
                "503": {
                    "description": "The storage cannot serve now; retry after Retry-After",
                    "headers": {"Retry-After": {"schema": {"type": "integer"}}},
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                },
            },
        }
        params = [
            {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
            for p in _PARAM.findall(path)
        ]
        if route.paged:
            params += PAGE_PARAMETERS
        if params:
            operation["parameters"] = params
        if route.auth:
            operation["security"] = [{route.auth: []}]
        request_schema, response_schema = ROUTE_SCHEMAS.get(
            (route.method, route.path), (None, None)
        )
        if route.has_body:
            schema = _ref(request_schema) if request_schema else {"type": "object"}
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": schema}},
            }
        if route.paged:
            response_schema = "Page"
        if response_schema:
            operation["responses"]["2XX"]["content"]["application/json"] = {
                "schema": _ref(response_schema)
            }
        paths.setdefault(path, {})[route.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Tidings",
            "version": version,
            "description": "Device ingestion, config manifest, Segment-compatible sources, admin "
            "API and cohort import. Every response carries X-Server-Time (epoch ms).",
        },
        "paths": paths,
        "components": {"securitySchemes": SECURITY_SCHEMES, "schemas": SCHEMAS},
    }
