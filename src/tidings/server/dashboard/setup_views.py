"""The home page (projects and their apps, paged), a project's apps, and the first run from
the home page: create a project and an app, see the app's keys once, see it go live.

A token limited to some projects sees only those; creating a project needs a token without a
scope (as in the admin API), creating an app a project in the token's scope.

Creating an app answers the form's POST with the keys page itself instead of redirecting to a
page that could be loaded again: the API secret is shown exactly once, as the admin API and
``tidings apps create`` do. The page carries copy-paste snippets (the Python SDK, a Segment
library, plain HTTP) filled in with the new keys and this server's address, and a panel that
waits for the app's first event by polling the live stream's JSON (``stream.json``).
"""

from __future__ import annotations

from typing import Final

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from tidings.server.admin_access import AdminAccess
from tidings.server.dashboard.pager import PAGE_SIZE, pager
from tidings.server.dashboard.pages import PageNotFound, access_of, app_context, signed_in
from tidings.server.dashboard.render import render
from tidings.server.dashboard.session import Form, checked_form
from tidings.server.paging import page_body, page_query
from tidings.storage import AppCredentials, Project

MAX_NAME: Final = 255
MAX_PLATFORM: Final = 64
PLATFORMS: Final = ("ios", "android", "web", "python", "react-native", "flutter", "unity")
"""Suggestions only: the platform is free text, as in the admin API."""


def _field(form: Form, name: str, limit: int, label: str) -> tuple[str, str | None]:
    """The stripped value and, when it is not acceptable, the message to show."""
    value = (form.get(name) or [""])[0].strip()
    if not value:
        return value, f"{label} is required."
    if len(value) > limit:
        return value, f"{label} must be at most {limit} characters."
    return value, None


HOME_PROJECTS = 20
"""Projects per home page."""
HOME_APPS = 50
"""Apps shown per project on the home page; the project's page lists them all, paged."""


@signed_in
async def home(request: Request, token: str) -> Response:
    """The token's projects, a page at a time, each with its first apps."""
    return await _home(request, token)


async def _home(
    request: Request,
    token: str,
    *,
    errors: dict[str, str] | None = None,
    form: Form | None = None,
    status: int = 200,
) -> Response:
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
            "can_create_projects": access.project_ids is None,
            "errors": errors or {},
            "form": {k: v[0] for k, v in (form or {}).items() if v},
            "platforms": PLATFORMS,
        },
        token=token,
        status=status,
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
            "can_create_projects": False,
            "errors": {},
            "form": {},
            "platforms": PLATFORMS,
        },
        token=token,
    )


@signed_in
async def create_project(request: Request, token: str) -> Response:
    form = await checked_form(request, token)
    access = access_of(request)
    if access.project_ids is not None:
        errors = {"project.name": "Only a token without a project scope can create projects."}
        return await _home(request, token, errors=errors, form=form, status=403)
    name, error = _field(form, "project.name", MAX_NAME, "Project name")
    if error:
        return await _home(request, token, errors={"project.name": error}, form=form, status=400)
    project = await access.store.create_project(name)
    return RedirectResponse(f"/?created={project.id}#project-{project.id}", status_code=303)


@signed_in
async def create_app(request: Request, token: str) -> Response:
    form = await checked_form(request, token)
    access = access_of(request)
    project_id = request.path_params["project_id"]
    if await access.project(project_id) is None:
        errors = {"app": "That project no longer exists."}
        return await _home(request, token, errors=errors, status=404)
    name, name_error = _field(form, "app.name", MAX_NAME, "App name")
    platform, platform_error = _field(form, "app.platform", MAX_PLATFORM, "Platform")
    errors = {k: v for k, v in (("app.name", name_error), ("app.platform", platform_error)) if v}
    if errors:
        errors["app.project"] = project_id
        return await _home(request, token, errors=errors, form=form, status=400)
    credentials = await access.store.create_app(project_id, name, platform)
    return await _keys_page(request, token, access, credentials)


def snippets(credentials: AppCredentials, server_url: str) -> dict[str, str]:
    """Copy-paste code for the new app: the Python SDK, a Segment library and plain HTTP."""
    c = credentials
    return {
        "python": (
            "from tidings import Tidings\n\n"
            "client = Tidings(\n"
            f'    app_id="{c.app_id}",\n'
            f'    api_key_public="{c.api_key_public}",\n'
            f'    api_key_secret="{c.api_key_secret}",\n'
            f'    backend_url="{server_url}",\n'
            ")\n"
            'client.track("AppOpened", {"source": "quick start"})\n'
            "client.flush()\n"
        ),
        "segment": (
            "# pip install segment-analytics-python\n"
            "import segment.analytics as analytics\n\n"
            f'analytics.write_key = "{c.write_key}"\n'
            f'analytics.host = "{server_url}"\n'
            'analytics.track("user-1", "AppOpened", {"source": "segment"})\n'
            "analytics.flush()\n"
        ),
        "http": (
            f"curl -u '{c.write_key}:' -H 'Content-Type: application/json' \\\n"
            """  -d '{"userId": "user-1", "event": "AppOpened"}' \\\n"""
            f"  {server_url}/v1/track\n"
        ),
    }


async def _keys_page(
    request: Request, token: str, access: AdminAccess, credentials: AppCredentials
) -> Response:
    ctx = await app_context(access, credentials.app_id)
    server_url = str(request.base_url).rstrip("/")
    return render(
        request,
        "app_created.html",
        {
            **ctx.as_context(),
            "credentials": credentials,
            "snippets": snippets(credentials, server_url),
            "after": await access.store.last_seq(),
        },
        token=token,
        status=201,
    )
