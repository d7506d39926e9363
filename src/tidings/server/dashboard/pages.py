"""What every dashboard page shares: the sign-in guard, HTML error pages, common look-ups.

Pages reach the store through the signed-in token's :class:`AdminAccess`, so a token limited to
some projects sees the same world in the dashboard as through the admin API: apps, campaigns and
projects outside its scope are pages that do not exist.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tidings.server.admin_access import AdminAccess
from tidings.server.dashboard.render import render
from tidings.server.dashboard.session import (
    FormRejected,
    SignInRequired,
    current_token,
    require_admin,
    sign_in_redirect,
)
from tidings.server.errors import ApiError
from tidings.server.state import store_of
from tidings.storage import Application, Project, Store, StoredCampaign

Page = Callable[[Request, str], Awaitable[Response]]
Handler = Callable[[Request], Awaitable[Response]]


class PageNotFound(Exception):
    """A path naming an app, campaign or document that does not exist."""


def signed_in(page: Page) -> Handler:
    """Run ``page`` with the admin token; redirect to sign-in when there is none."""

    @wraps(page)
    async def handler(request: Request) -> Response:
        try:
            token, access = await require_admin(request)
            request.state.admin_access = access
            return await page(request, token)
        except SignInRequired:
            return sign_in_redirect(request)
        except FormRejected as exc:
            return await error_page(request, exc.status, exc.message)
        except PageNotFound as exc:
            return await error_page(request, 404, str(exc))
        except ApiError as exc:  # a bad ?cursor= or ?limit=, named as the API names it
            return await error_page(request, exc.status, exc.message)

    return handler


async def error_page(request: Request, status: int, message: str) -> Response:
    token = await current_token(request)
    return render(
        request, "error.html", {"status": status, "message": message}, token=token, status=status
    )


@dataclass(frozen=True, slots=True)
class AppContext:
    """The app a page is about, its project, and the project's apps."""

    app: Application
    project: Project
    apps: list[Application]

    def as_context(self) -> dict[str, Any]:
        return {"app": self.app, "project": self.project, "apps": self.apps}


PROJECT_APPS = 200
"""Apps of the project the editor offers as targeting choices, at most."""


async def app_context(access: AdminAccess, app_id: str) -> AppContext:
    """The app (404 page when it is missing or outside the token's projects), its project and
    the project's apps."""
    app = await access.app(app_id)
    if app is None:
        raise PageNotFound(f"There is no app {app_id!r}.")
    project = await access.store.get_project(app.project_id)
    if project is None:  # pragma: no cover - an app always has a project
        raise PageNotFound(f"There is no project {app.project_id!r}.")
    return AppContext(app, project, await access.store.list_apps(project.id, limit=PROJECT_APPS))


async def campaign_or_404(access: AdminAccess, campaign_id: str) -> StoredCampaign:
    campaign = await access.campaign(campaign_id)
    if campaign is None:
        raise PageNotFound(f"There is no campaign {campaign_id!r}.")
    return campaign


def access_of(request: Request) -> AdminAccess:
    """The signed-in token's access (set by :func:`signed_in`)."""
    access: AdminAccess = request.state.admin_access
    return access


def store(request: Request) -> Store:
    return store_of(request)
