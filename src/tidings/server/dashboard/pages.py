"""What every dashboard page shares: the sign-in guard, HTML error pages, common look-ups."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tidings.server.dashboard.render import render
from tidings.server.dashboard.session import (
    FormRejected,
    SignInRequired,
    current_token,
    require_admin,
    sign_in_redirect,
)
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
            token = await require_admin(request)
            return await page(request, token)
        except SignInRequired:
            return sign_in_redirect(request)
        except FormRejected as exc:
            return await error_page(request, exc.status, exc.message)
        except PageNotFound as exc:
            return await error_page(request, 404, str(exc))

    return handler


async def error_page(request: Request, status: int, message: str) -> Response:
    token = await current_token(request)
    return render(
        request, "error.html", {"status": status, "message": message}, token=token, status=status
    )


@dataclass(frozen=True, slots=True)
class AppContext:
    """The app a page is about, its project, and every app (for the app switcher)."""

    app: Application
    project: Project
    apps: list[Application]

    def as_context(self) -> dict[str, Any]:
        return {"app": self.app, "project": self.project, "apps": self.apps}


async def app_context(store: Store, app_id: str) -> AppContext:
    app = await store.get_app(app_id)
    if app is None:
        raise PageNotFound(f"There is no app {app_id!r}.")
    project = await store.get_project(app.project_id)
    if project is None:  # pragma: no cover - an app always has a project
        raise PageNotFound(f"There is no project {app.project_id!r}.")
    return AppContext(app, project, await store.list_apps())


async def campaign_or_404(store: Store, campaign_id: str) -> StoredCampaign:
    campaign = await store.get_campaign(campaign_id)
    if campaign is None:
        raise PageNotFound(f"There is no campaign {campaign_id!r}.")
    return campaign


def store(request: Request) -> Store:
    return store_of(request)
