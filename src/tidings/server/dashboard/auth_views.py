"""Sign-in, sign-out, the home page (projects and their apps) and a project's apps."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from tidings.server.dashboard.pager import PAGE_SIZE, pager
from tidings.server.dashboard.pages import PageNotFound, access_of, error_page, signed_in, store
from tidings.server.dashboard.render import render
from tidings.server.dashboard.session import (
    FormRejected,
    check_origin,
    checked_form,
    clear_session_cookie,
    current_token,
    read_form,
    safe_next,
    set_session_cookie,
)
from tidings.server.paging import page_body, page_query
from tidings.storage import Project


async def sign_in_page(request: Request) -> Response:
    if await current_token(request) is not None:
        return RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    return render(request, "signin.html", {"next": safe_next(request.query_params.get("next"))})


async def sign_in(request: Request) -> Response:
    try:
        check_origin(request)
        form = await read_form(request)
    except FormRejected as exc:
        return await error_page(request, exc.status, exc.message)
    token = (form.get("token") or [""])[0].strip()
    target = safe_next((form.get("next") or ["/"])[0])
    if not token or len(token) > 256 or not await store(request).verify_admin_token(token):
        return render(
            request,
            "signin.html",
            {"next": target, "error": "That admin token is unknown or revoked."},
            status=401,
        )
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(request, response, token)
    return response


@signed_in
async def sign_out(request: Request, token: str) -> Response:
    await checked_form(request, token)
    response = RedirectResponse("/signin", status_code=303)
    clear_session_cookie(response)
    return response


HOME_PROJECTS = 20
"""Projects per home page."""
HOME_APPS = 50
"""Apps shown per project on the home page; the project's page lists them all, paged."""


@signed_in
async def home(request: Request, token: str) -> Response:
    """The token's projects, a page at a time, each with its first apps."""
    access = access_of(request)
    query = page_query(request.query_params, "projects", (int, str), default=HOME_PROJECTS)
    fetched = await access.store.list_projects(
        ids=access.project_ids, after=query.after, limit=query.limit + 1
    )
    page = page_body(fetched, query, lambda p: (p.created_at, p.id), lambda p: p)
    projects: list[Project] = page["items"]
    by_project = {p.id: await access.store.list_apps(p.id, limit=HOME_APPS + 1) for p in projects}
    return render(
        request,
        "home.html",
        {
            "projects": projects,
            "by_project": {pid: apps[:HOME_APPS] for pid, apps in by_project.items()},
            "more_apps": {pid for pid, apps in by_project.items() if len(apps) > HOME_APPS},
            "pager": pager(request, page["next"]),
            "project_page": False,
        },
        token=token,
    )


@signed_in
async def project_page(request: Request, token: str) -> Response:
    """Every app of one project, paged."""
    access = access_of(request)
    project_id = request.path_params["project_id"]
    project = await access.project(project_id)
    if project is None:
        raise PageNotFound(f"There is no project {project_id!r}.")
    query = page_query(request.query_params, "apps", (int, str), default=PAGE_SIZE)
    fetched = await access.store.list_apps(project.id, after=query.after, limit=query.limit + 1)
    page = page_body(fetched, query, lambda a: (a.created_at, a.id), lambda a: a)
    return render(
        request,
        "home.html",
        {
            "projects": [project],
            "by_project": {project.id: page["items"]},
            "more_apps": set(),
            "pager": pager(request, page["next"]),
            "project_page": True,
        },
        token=token,
    )
