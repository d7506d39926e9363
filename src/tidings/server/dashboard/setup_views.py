"""The home page (projects and their apps) and the first run from it: create a project and an
app, see the app's keys once, see it go live.

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

from tidings.server.dashboard.pages import app_context, signed_in, store
from tidings.server.dashboard.render import render
from tidings.server.dashboard.session import Form, checked_form
from tidings.storage import AppCredentials, Store

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


@signed_in
async def home(request: Request, token: str) -> Response:
    return await _home(request, token, store(request))


async def _home(
    request: Request,
    token: str,
    s: Store,
    *,
    errors: dict[str, str] | None = None,
    form: Form | None = None,
    status: int = 200,
) -> Response:
    projects = await s.list_projects()
    apps = await s.list_apps()
    return render(
        request,
        "home.html",
        {
            "projects": projects,
            "by_project": {p.id: [a for a in apps if a.project_id == p.id] for p in projects},
            "apps": apps,
            "errors": errors or {},
            "form": {k: v[0] for k, v in (form or {}).items() if v},
            "platforms": PLATFORMS,
        },
        token=token,
        status=status,
    )


@signed_in
async def create_project(request: Request, token: str) -> Response:
    form = await checked_form(request, token)
    s = store(request)
    name, error = _field(form, "project.name", MAX_NAME, "Project name")
    if error:
        return await _home(request, token, s, errors={"project.name": error}, form=form, status=400)
    project = await s.create_project(name)
    return RedirectResponse(f"/?created={project.id}#project-{project.id}", status_code=303)


@signed_in
async def create_app(request: Request, token: str) -> Response:
    form = await checked_form(request, token)
    s = store(request)
    project_id = request.path_params["project_id"]
    if await s.get_project(project_id) is None:
        errors = {"app": "That project no longer exists."}
        return await _home(request, token, s, errors=errors, status=404)
    name, name_error = _field(form, "app.name", MAX_NAME, "App name")
    platform, platform_error = _field(form, "app.platform", MAX_PLATFORM, "Platform")
    errors = {k: v for k, v in (("app.name", name_error), ("app.platform", platform_error)) if v}
    if errors:
        errors["app.project"] = project_id
        return await _home(request, token, s, errors=errors, form=form, status=400)
    credentials = await s.create_app(project_id, name, platform)
    return await _keys_page(request, token, s, credentials)


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
    request: Request, token: str, s: Store, credentials: AppCredentials
) -> Response:
    ctx = await app_context(s, credentials.app_id)
    server_url = str(request.base_url).rstrip("/")
    return render(
        request,
        "app_created.html",
        {
            **ctx.as_context(),
            "credentials": credentials,
            "snippets": snippets(credentials, server_url),
            "after": await s.last_seq(),
        },
        token=token,
        status=201,
    )
