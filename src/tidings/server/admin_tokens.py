"""Admin routes for admin tokens: ``/admin/api/tokens[/{id}]``.

``POST {name, expiresAt?, projectIds?}`` makes a token and shows it once (``token``); ``GET``
lists tokens (paged) with their name, creation time, last use, expiry, project scope and
revocation; ``DELETE /{id}`` revokes one. Tokens manage tokens only when they are not limited to
projects themselves: a scoped token could otherwise mint itself a wider one.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tidings.core.events import json_type
from tidings.core.timeparse import parse_instant
from tidings.server.admin import _body
from tidings.server.admin_access import AdminAccess, admin_access
from tidings.server.errors import ApiError, bad_request, json_response
from tidings.server.openapi import admin_route
from tidings.server.paging import page_body, page_query
from tidings.server.state import server_state
from tidings.server.validate import reject_unknown, text
from tidings.storage import AdminToken, NotFoundError

MAX_SCOPE_PROJECTS = 100


def expiry_ms(value: object, now_ms: int, where: str = "expiresAt") -> int | None:
    """``expiresAt``: ``null``, epoch ms or an ISO 8601 instant with offset, in the future."""
    if value is None:
        return None
    at = value if type(value) is int else parse_instant(value) if isinstance(value, str) else None
    if at is None:
        raise bad_request(where, "must be epoch milliseconds or an ISO 8601 time with an offset")
    assert isinstance(at, int)
    if at <= now_ms:
        raise bad_request(where, "must be in the future")
    return at


def scope_ids(value: object, where: str = "projectIds") -> list[str] | None:
    """``projectIds``: ``null`` (every project) or a non-empty array of project ids."""
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        raise bad_request(where, "must be a non-empty array of project ids, or null")
    if len(value) > MAX_SCOPE_PROJECTS:
        raise bad_request(where, f"at most {MAX_SCOPE_PROJECTS} projects")
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item:
            raise bad_request(f"{where}[{i}]", f"must be a project id, not {json_type(item)}")
    return list(value)


async def _managing(request: Request) -> AdminAccess:
    access = await admin_access(request)
    access.require_unscoped("managing admin tokens")
    return access


async def _token(access: AdminAccess, token_id: str) -> AdminToken:
    token = await access.store.get_admin_token(token_id)
    if token is None:
        raise ApiError(404, "token_not_found", f"id: no admin token {token_id!r}")
    return token


async def list_tokens(request: Request) -> Response:
    access = await _managing(request)
    query = page_query(request.query_params, "tokens", (int, str))
    fetched = await access.store.list_admin_tokens(after=query.after, limit=query.limit + 1)
    return json_response(
        page_body(fetched, query, lambda t: (t.created_at, t.id), lambda t: t.to_json())
    )


async def create_token(request: Request) -> Response:
    access = await _managing(request)
    body = await _body(request)
    reject_unknown(body, ("name", "expiresAt", "projectIds"))
    name = text(body, "name", required=False) or ""
    expires_at = expiry_ms(body.get("expiresAt"), server_state(request).settings.now_ms())
    projects = scope_ids(body.get("projectIds"))
    try:
        issued = await access.store.issue_admin_token(
            name, expires_at=expires_at, project_ids=projects
        )
    except NotFoundError as exc:
        index = projects.index(exc.ident) if projects and exc.ident in projects else 0
        raise bad_request(f"projectIds[{index}]", f"no project {exc.ident!r}") from None
    return json_response({"token": issued.token, **issued.info.to_json()}, status=201)


async def get_token(request: Request) -> Response:
    access = await _managing(request)
    return json_response((await _token(access, request.path_params["token_id"])).to_json())


async def revoke_token(request: Request) -> Response:
    """Revoke a token (a no-op for one already revoked); its browser sessions end at once."""
    access = await _managing(request)
    token = await _token(access, request.path_params["token_id"])
    await access.store.revoke_admin_token_id(token.id)
    revoked = await _token(access, token.id)
    out: dict[str, Any] = {**revoked.to_json(), "revoked": True}
    return json_response(out)


_T = "/admin/api/tokens"
ROUTES = [
    admin_route("GET", _T, list_tokens, "List admin tokens (no credentials)", paged=True),
    admin_route("POST", _T, create_token, "Create an admin token (shown once)"),
    admin_route("GET", f"{_T}/{{token_id}}", get_token, "Read an admin token's details"),
    admin_route("DELETE", f"{_T}/{{token_id}}", revoke_token, "Revoke an admin token"),
]
