"""Who is calling the admin API, and what their token lets them see.

Every admin route and every dashboard page starts from an :class:`AdminAccess`: the store seen
through one active admin token. A token limited to some projects sees and changes only those:
a project, app or campaign outside them is answered exactly like one that does not exist (404),
so a scoped token cannot even learn which ids are taken elsewhere. A resource serving several
apps (a destination, a stream sink) is visible to a scoped token only when every one of its apps
is in scope, since changing it would change delivery for all of them. Creating projects and
managing tokens need a token with no project limit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from starlette.requests import Request

from tidings.server.auth import bearer_token
from tidings.server.errors import ApiError
from tidings.server.state import server_state, store_of
from tidings.storage import AdminToken, Application, Project, Store, StoredCampaign


@dataclass(frozen=True, slots=True)
class AdminAccess:
    """The store as one admin token may use it."""

    store: Store
    token: AdminToken

    @property
    def project_ids(self) -> tuple[str, ...] | None:
        """The projects the token is limited to, or ``None`` for every project."""
        return self.token.project_ids

    def allows(self, project_id: str) -> bool:
        """Whether the token may see and change ``project_id``."""
        return self.token.allows(project_id)

    def require_unscoped(self, what: str) -> None:
        """Refuse (403 ``token_scope``) an action only an unlimited token may take."""
        if self.token.scoped:
            raise ApiError(
                403,
                "token_scope",
                f"Authorization: {what} needs an admin token not limited to projects",
            )

    async def project(self, project_id: str) -> Project | None:
        """The project when it exists and is in scope."""
        if not self.allows(project_id):
            return None
        return await self.store.get_project(project_id)

    async def app(self, app_id: str) -> Application | None:
        """The app when it exists and its project is in scope."""
        app = await self.store.get_app(app_id)
        return app if app is not None and self.allows(app.project_id) else None

    async def campaign(self, campaign_id: str) -> StoredCampaign | None:
        """The campaign when it exists and its app's project is in scope."""
        campaign = await self.store.get_campaign(campaign_id)
        if campaign is None or await self.app(campaign.app_id) is None:
            return None
        return campaign

    async def allows_apps(self, app_ids: Iterable[str]) -> bool:
        """Whether every one of ``app_ids`` is an app in scope (for multi-app resources)."""
        if self.token.project_ids is None:
            return True
        for app_id in app_ids:
            if await self.app(app_id) is None:
                return False
        return True


LOCAL = AdminToken(
    id="local",
    name="the database's operator",
    created_at=0,
    last_used_at=None,
    expires_at=None,
    project_ids=None,
    revoked_at=None,
)
"""What a command run on the database itself may do: everything (it holds the database)."""


def local_access(store: Store) -> AdminAccess:
    """The store as a command line that opened the database directly uses it: unscoped."""
    return AdminAccess(store, LOCAL)


async def access_for_token(request: Request, token: str) -> AdminAccess | None:
    """The access an admin token gives now, or ``None`` when it is unknown, revoked or expired."""
    store = store_of(request)
    info = await store.admin_token(token, server_state(request).settings.now_ms())
    return AdminAccess(store, info) if info is not None else None


async def admin_access(request: Request) -> AdminAccess:
    """The caller's access from ``Authorization: Bearer <admin token>`` (401 otherwise)."""
    access = await access_for_token(request, bearer_token(request))
    if access is None:
        raise ApiError(
            401, "invalid_admin_token", "Authorization: unknown, revoked or expired admin token"
        )
    return access
