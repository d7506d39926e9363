"""The tokens page: every admin token with its last use, expiry and scope; make and revoke.

Signing out only forgets the browser's cookie; revoking is what ends a token, here or with
``tidings tokens revoke``. A new token is shown once, on the page that answers its creation.
Like the admin API's token routes, this page needs a token not limited to projects.
"""

from __future__ import annotations

from typing import Any, Final

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from tidings.server.admin_access import AdminAccess
from tidings.server.dashboard.pager import PAGE_SIZE, pager
from tidings.server.dashboard.pages import access_of, signed_in
from tidings.server.dashboard.render import render
from tidings.server.dashboard.session import Form, FormRejected, checked_form
from tidings.server.errors import ApiError
from tidings.server.paging import page_body, page_query
from tidings.server.state import server_state
from tidings.storage import IssuedAdminToken

MS_PER_DAY: Final = 86_400_000
MAX_EXPIRY_DAYS: Final = 3650
SCOPE_CHOICES: Final = 200
"""Projects offered as scope choices, at most."""


def _managing(request: Request) -> AdminAccess:
    access = access_of(request)
    if access.token.scoped:
        raise FormRejected(403, "Managing admin tokens needs a token not limited to projects.")
    return access


async def _page(
    request: Request,
    token: str,
    *,
    issued: IssuedAdminToken | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    access = _managing(request)
    query = page_query(request.query_params, "tokens", (int, str), default=PAGE_SIZE)
    fetched = await access.store.list_admin_tokens(after=query.after, limit=query.limit + 1)
    page = page_body(fetched, query, lambda t: (t.created_at, t.id), lambda t: t)
    projects = await access.store.list_projects(limit=SCOPE_CHOICES)
    context: dict[str, Any] = {
        "tokens": page["items"],
        "pager": pager(request, page["next"]),
        "projects": projects,
        "project_names": {p.id: p.name for p in projects},
        "current_id": access.token.id,
        "now": server_state(request).settings.now_ms(),
        "issued": issued,
        "error": error,
        "notice": request.query_params.get("notice"),
    }
    return render(request, "tokens.html", context, token=token, status=status)


@signed_in
async def tokens_page(request: Request, token: str) -> Response:
    return await _page(request, token)


def _first(form: Form, name: str) -> str:
    values = form.get(name)
    return values[0].strip() if values else ""


@signed_in
async def create(request: Request, token: str) -> Response:
    access = _managing(request)
    form = await checked_form(request, token)
    name = _first(form, "name")[:255]
    days = _first(form, "expires_days")
    expires_at = None
    if days:
        if not days.isdigit() or not 1 <= int(days) <= MAX_EXPIRY_DAYS:
            message = f"Expires in: a whole number of days from 1 to {MAX_EXPIRY_DAYS}, or empty."
            return await _page(request, token, error=message, status=400)
        expires_at = server_state(request).settings.now_ms() + int(days) * MS_PER_DAY
    scope = [p for p in form.get("projects", []) if p] or None
    try:
        issued = await access.store.issue_admin_token(
            name, expires_at=expires_at, project_ids=scope
        )
    except LookupError:
        return await _page(request, token, error="A chosen project no longer exists.", status=400)
    return await _page(request, token, issued=issued, status=201)


@signed_in
async def revoke(request: Request, token: str) -> Response:
    access = _managing(request)
    await checked_form(request, token)
    token_id = request.path_params["token_id"]
    if await access.store.get_admin_token(token_id) is None:
        raise ApiError(404, "token_not_found", f"There is no admin token {token_id!r}.")
    await access.store.revoke_admin_token_id(token_id)
    if token_id == access.token.id:
        return RedirectResponse("/signin", status_code=303)
    return RedirectResponse("/tokens?notice=revoked", status_code=303)
