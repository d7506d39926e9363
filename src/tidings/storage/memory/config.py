"""The configuration role of the memory store: projects, apps, keys, tokens, campaigns,
cohorts and documents, with the same ids, orders and errors as the SQL store."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tidings.storage import keys
from tidings.storage.clock import now_ms
from tidings.storage.memory.state import CampaignRow, KeyRow, MemoryState
from tidings.storage.paging import After, page_of
from tidings.storage.records import (
    ApiKeyInfo,
    AppCredentials,
    Application,
    CampaignState,
    Cohort,
    CohortChange,
    Document,
    KeyPair,
    NotFoundError,
    Project,
    ProjectConfig,
    SigningKey,
    StoredCampaign,
    VersionConflict,
)
from tidings.storage.tokens import LAST_USE_RESOLUTION_MS, AdminToken, IssuedAdminToken


def _copy(value: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy: what the store hands out must not alias what it keeps (as a database's
    rows do not)."""
    return copy.deepcopy(dict(value))


def _document(doc: Document) -> Document:
    return Document(doc.collection, doc.id, _copy(doc.body), doc.created_at, doc.updated_at)


class MemoryConfig:
    """Projects, apps, keys, tokens, campaigns, cohorts and documents in a :class:`MemoryState`."""

    _state: MemoryState

    # projects ------------------------------------------------------------------------------------

    def _project(self, project_id: str, import_key: str | None = None) -> Project:
        row = self._state.projects[project_id]
        settings = ProjectConfig.from_json(row["settings"])
        active = row["import_key_hash"] is not None
        return Project(project_id, row["name"], settings, row["created_at"], import_key, active)

    def _projects(self) -> list[str]:
        rows = self._state.projects
        return sorted(rows, key=lambda p: (rows[p]["created_at"], p))

    async def create_project(self, name: str, settings: ProjectConfig | None = None) -> Project:
        project_id, import_key = keys.new_id("prj"), keys.new_credential("dik")
        chosen = settings or ProjectConfig()
        with self._state.lock:
            self._state.projects[project_id] = {
                "name": name,
                "settings": chosen.to_json(),
                "created_at": now_ms(),
                "revision": 0,
                "import_key_hash": keys.digest(import_key),
            }
            return self._project(project_id, import_key)

    async def get_project(self, project_id: str) -> Project | None:
        with self._state.lock:
            return self._project(project_id) if project_id in self._state.projects else None

    async def get_project_by_name(self, name: str) -> Project | None:
        with self._state.lock:
            for project_id in self._projects():
                if self._state.projects[project_id]["name"] == name:
                    return self._project(project_id)
            return None

    async def list_projects(
        self,
        *,
        ids: Sequence[str] | None = None,
        after: After = None,
        limit: int | None = None,
    ) -> list[Project]:
        with self._state.lock:
            found = [self._project(p) for p in self._state.projects if ids is None or p in set(ids)]
        return page_of(found, lambda p: (p.created_at, p.id), after, limit)

    async def update_project_settings(self, project_id: str, settings: ProjectConfig) -> Project:
        with self._state.lock:
            row = self._state.projects.get(project_id)
            if row is None:
                raise NotFoundError("project", project_id)
            row["settings"] = settings.to_json()
            row["revision"] += 1
            return self._project(project_id)

    async def rotate_data_import_key(self, project_id: str) -> str:
        import_key = keys.new_credential("dik")
        with self._state.lock:
            row = self._state.projects.get(project_id)
            if row is None:
                raise NotFoundError("project", project_id)
            row["import_key_hash"] = keys.digest(import_key)
        return import_key

    async def revoke_data_import_key(self, project_id: str) -> bool:
        with self._state.lock:
            row = self._state.projects.get(project_id)
            if row is None:
                raise NotFoundError("project", project_id)
            active = row["import_key_hash"] is not None
            row["import_key_hash"] = None
            return active

    async def project_for_import_key(self, data_import_key: str) -> Project | None:
        hashed = keys.digest(data_import_key)
        with self._state.lock:
            for project_id in self._projects():
                if self._state.projects[project_id]["import_key_hash"] == hashed:
                    return self._project(project_id)
            return None

    def _bump(self, project_id: str) -> None:
        row = self._state.projects.get(project_id)
        if row is not None:
            row["revision"] += 1

    # applications and keys -------------------------------------------------------------------

    def _app(self, app_id: str) -> Application:
        project_id, name, platform, created_at = self._state.apps[app_id]
        return Application(app_id, project_id, name, platform, created_at)

    def _require_app(self, app_id: str) -> None:
        if app_id not in self._state.apps:
            raise NotFoundError("app", app_id)

    def _new_pair(self, app_id: str, at: int) -> KeyPair:
        public, secret = keys.new_credential("pk"), keys.new_credential("sk")
        self._state.keys[public] = KeyRow(app_id, public, secret.encode(), at)
        return KeyPair(app_id, public, secret)

    def _new_write_key(self, app_id: str, at: int) -> str:
        write_key = keys.new_credential("wk")
        self._state.write_keys[keys.digest(write_key)] = (app_id, at, None)
        return write_key

    async def create_app(self, project_id: str, name: str, platform: str) -> AppCredentials:
        app_id, at = keys.new_id("app"), now_ms()
        with self._state.lock:
            if project_id not in self._state.projects:
                raise NotFoundError("project", project_id)
            self._state.apps[app_id] = (project_id, name, platform, at)
            pair = self._new_pair(app_id, at)
            write_key = self._new_write_key(app_id, at)
        return AppCredentials(app_id, pair.api_key_public, pair.api_key_secret, write_key)

    async def get_app(self, app_id: str) -> Application | None:
        with self._state.lock:
            return self._app(app_id) if app_id in self._state.apps else None

    async def list_apps(
        self, project_id: str | None = None, *, after: After = None, limit: int | None = None
    ) -> list[Application]:
        with self._state.lock:
            apps = [self._app(a) for a in self._state.apps]
        picked = [a for a in apps if project_id is None or a.project_id == project_id]
        return page_of(picked, lambda a: (a.created_at, a.id), after, limit)

    async def rotate_keys(self, app_id: str) -> KeyPair:
        with self._state.lock:
            self._require_app(app_id)
            return self._new_pair(app_id, now_ms())

    async def revoke_key(self, app_id: str, api_key_public: str) -> bool:
        with self._state.lock:
            row = self._state.keys.get(api_key_public)
            if row is None or row.app_id != app_id or row.revoked_at is not None:
                return False
            row.revoked_at = now_ms()
            return True

    async def list_keys(
        self, app_id: str, *, after: After = None, limit: int | None = None
    ) -> list[ApiKeyInfo]:
        with self._state.lock:
            rows = [r for r in self._state.keys.values() if r.app_id == app_id]
        rows = page_of(rows, lambda r: (r.created_at, r.public), after, limit)
        return [ApiKeyInfo(r.app_id, r.public, r.created_at, r.revoked_at) for r in rows]

    async def signing_key(self, api_key_public: str) -> SigningKey | None:
        with self._state.lock:
            row = self._state.keys.get(api_key_public)
            if row is None or row.revoked_at is not None or row.app_id not in self._state.apps:
                return None
            project_id = self._state.apps[row.app_id][0]
        return SigningKey(row.app_id, project_id, api_key_public, row.secret)

    async def rotate_write_key(self, app_id: str) -> str:
        with self._state.lock:
            self._require_app(app_id)
            return self._new_write_key(app_id, now_ms())

    async def revoke_write_key(self, app_id: str, write_key: str) -> bool:
        hashed = keys.digest(write_key)
        with self._state.lock:
            row = self._state.write_keys.get(hashed)
            if row is None or row[0] != app_id or row[2] is not None:
                return False
            self._state.write_keys[hashed] = (row[0], row[1], now_ms())
            return True

    async def app_for_write_key(self, write_key: str) -> Application | None:
        with self._state.lock:
            row = self._state.write_keys.get(keys.digest(write_key))
            if row is None or row[2] is not None or row[0] not in self._state.apps:
                return None
            return self._app(row[0])

    # admin tokens ----------------------------------------------------------------------------

    async def issue_admin_token(
        self,
        name: str = "",
        *,
        expires_at: int | None = None,
        project_ids: Sequence[str] | None = None,
    ) -> IssuedAdminToken:
        token = keys.new_credential("tat")
        scope = tuple(dict.fromkeys(project_ids)) if project_ids is not None else None
        info = AdminToken(keys.new_id("tok"), name, now_ms(), None, expires_at, scope, None)
        with self._state.lock:
            for project_id in scope or ():
                if project_id not in self._state.projects:
                    raise NotFoundError("project", project_id)
            self._state.admin_tokens[keys.digest(token)] = info
        return IssuedAdminToken(token, info)

    async def admin_token(self, token: str, at_ms: int | None = None) -> AdminToken | None:
        at = now_ms() if at_ms is None else at_ms
        hashed = keys.digest(token)
        with self._state.lock:
            info = self._state.admin_tokens.get(hashed)
            if info is None or not info.active_at(at):
                return None
            if at - (info.last_used_at or 0) >= LAST_USE_RESOLUTION_MS:
                self._state.admin_tokens[hashed] = dataclasses.replace(info, last_used_at=at)
            return info

    async def get_admin_token(self, token_id: str) -> AdminToken | None:
        with self._state.lock:
            return next((t for t in self._state.admin_tokens.values() if t.id == token_id), None)

    async def list_admin_tokens(
        self, *, after: After = None, limit: int | None = None
    ) -> list[AdminToken]:
        with self._state.lock:
            tokens = list(self._state.admin_tokens.values())
        return page_of(tokens, lambda t: (t.created_at, t.id), after, limit)

    def _revoke_where(self, wanted: str, by_id: bool) -> bool:
        with self._state.lock:
            for hashed, info in self._state.admin_tokens.items():
                if (info.id if by_id else hashed) == wanted and info.revoked_at is None:
                    self._state.admin_tokens[hashed] = dataclasses.replace(
                        info, revoked_at=now_ms()
                    )
                    return True
            return False

    async def revoke_admin_token(self, token: str) -> bool:
        return self._revoke_where(keys.digest(token), by_id=False)

    async def revoke_admin_token_id(self, token_id: str) -> bool:
        return self._revoke_where(token_id, by_id=True)

    # campaigns -------------------------------------------------------------------------------

    @staticmethod
    def _campaign(row: CampaignRow) -> StoredCampaign:
        state: CampaignState = row.state  # type: ignore[assignment]
        return StoredCampaign(
            row.id, row.app_id, state, row.created_at, row.updated_at, _copy(row.body)
        )

    def _bump_app(self, app_id: str) -> None:
        app = self._state.apps.get(app_id)
        if app is not None:
            self._bump(app[0])

    async def create_campaign(
        self, app_id: str, body: Mapping[str, Any], state: CampaignState = "Draft"
    ) -> StoredCampaign:
        at, wanted = now_ms(), body.get("id")
        with self._state.lock:
            self._require_app(app_id)
            campaign_id = wanted if isinstance(wanted, str) and wanted else keys.new_id("c")
            if campaign_id in self._state.campaigns:
                campaign_id = keys.new_id("c")
            full = {**_copy(body), "id": campaign_id, "state": state, "createdAt": at}
            row = CampaignRow(campaign_id, app_id, state, at, at, full)
            self._state.campaigns[campaign_id] = row
            if state == "Active":  # only live campaigns are in the config manifest
                self._bump_app(app_id)
            return self._campaign(row)

    async def get_campaign(self, campaign_id: str) -> StoredCampaign | None:
        with self._state.lock:
            row = self._state.campaigns.get(campaign_id)
            return self._campaign(row) if row is not None else None

    async def list_campaigns(
        self,
        app_id: str,
        state: CampaignState | None = None,
        *,
        after: After = None,
        limit: int | None = None,
    ) -> list[StoredCampaign]:
        with self._state.lock:
            rows = [
                self._campaign(r)
                for r in self._state.campaigns.values()
                if r.app_id == app_id and (state is None or r.state == state)
            ]
        return page_of(rows, lambda c: (c.created_at, c.id), after, limit)

    async def campaign_counts(self, app_id: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        with self._state.lock:
            for row in self._state.campaigns.values():
                if row.app_id == app_id:
                    counts[row.state] = counts.get(row.state, 0) + 1
        return counts

    async def _rewrite(
        self,
        campaign_id: str,
        body: Mapping[str, Any] | None,
        state: CampaignState | None,
        if_version: str | None = None,
    ) -> StoredCampaign:
        with self._state.lock:
            row = self._state.campaigns.get(campaign_id)
            if row is None:
                raise NotFoundError("campaign", campaign_id)
            if if_version is not None and (old := self._campaign(row)).version != if_version:
                raise VersionConflict(old)
            old_state, row.state = row.state, state or row.state
            base = _copy(body) if body is not None else row.body
            row.body = {**base, "id": row.id, "state": row.state, "createdAt": row.created_at}
            row.updated_at = now_ms()
            if "Active" in (old_state, row.state):
                self._bump_app(row.app_id)
            return self._campaign(row)

    async def replace_campaign(
        self, campaign_id: str, body: Mapping[str, Any], *, if_version: str | None = None
    ) -> StoredCampaign:
        return await self._rewrite(campaign_id, body, None, if_version)

    async def set_campaign_state(self, campaign_id: str, state: CampaignState) -> StoredCampaign:
        return await self._rewrite(campaign_id, None, state)

    async def delete_campaign(self, campaign_id: str) -> bool:
        with self._state.lock:
            row = self._state.campaigns.pop(campaign_id, None)
            if row is None:
                return False
            if row.state == "Active":
                self._bump_app(row.app_id)
            return True

    async def project_campaign_ids(self, project_id: str, campaign_ids: Iterable[str]) -> set[str]:
        with self._state.lock:
            return {
                c
                for c in campaign_ids
                if (row := self._state.campaigns.get(c)) is not None
                and self._state.apps.get(row.app_id, ("",))[0] == project_id
            }

    async def config_revision(self, app_id: str) -> int:
        with self._state.lock:
            app = self._state.apps.get(app_id)
            if app is None:
                raise NotFoundError("app", app_id)
            return int(self._state.projects[app[0]]["revision"])

    # cohorts ---------------------------------------------------------------------------------

    def _cohort(self, project_id: str, cohort_id: str) -> Cohort:
        row = self._state.cohorts.get((project_id, cohort_id))
        if row is None:
            raise NotFoundError("cohort", cohort_id)
        members = self._state.members.get((project_id, cohort_id), set())
        return Cohort(cohort_id, project_id, row[0], row[1], len(members))

    async def upsert_cohort(
        self, project_id: str, cohort_id: str, name: str, created_at: int | None = None
    ) -> Cohort:
        at = created_at if created_at is not None else now_ms()
        with self._state.lock:
            if project_id not in self._state.projects:
                raise NotFoundError("project", project_id)
            old = self._state.cohorts.get((project_id, cohort_id))
            self._state.cohorts[(project_id, cohort_id)] = (name, old[1] if old else at)
            self._bump(project_id)
            return self._cohort(project_id, cohort_id)

    async def apply_cohort_changes(
        self, project_id: str, cohort_id: str, changes: Sequence[CohortChange]
    ) -> Cohort:
        with self._state.lock:
            self._cohort(project_id, cohort_id)
            members = self._state.members.setdefault((project_id, cohort_id), set())
            for change in changes:
                ids = [("u", m) for m in change.user_ids] + [("d", m) for m in change.device_ids]
                if change.should_remove:
                    members.difference_update(ids)
                else:
                    members.update(ids)
            self._bump(project_id)
            return self._cohort(project_id, cohort_id)

    async def list_cohorts(
        self,
        project_id: str | None = None,
        *,
        project_ids: Sequence[str] | None = None,
        after: After = None,
        limit: int | None = None,
    ) -> list[Cohort]:
        wanted = {project_id} if project_id is not None else project_ids
        with self._state.lock:
            out = [
                self._cohort(p, c) for p, c in self._state.cohorts if wanted is None or p in wanted
            ]
        return page_of(out, lambda c: (c.created_at, c.project_id, c.id), after, limit)

    async def cohorts_for(
        self, project_id: str, user_id: str | None, device_id: str | None
    ) -> list[str]:
        wanted = {("u", user_id), ("d", device_id)}
        with self._state.lock:
            return sorted(
                c
                for (p, c), members in self._state.members.items()
                if p == project_id and not members.isdisjoint(wanted)
            )

    # documents -------------------------------------------------------------------------------

    async def put_document(self, collection: str, doc_id: str, body: Mapping[str, Any]) -> Document:
        at = now_ms()
        with self._state.lock:
            old = self._state.documents.get((collection, doc_id))
            doc = Document(collection, doc_id, _copy(body), old.created_at if old else at, at)
            self._state.documents[(collection, doc_id)] = doc
        return Document(collection, doc_id, _copy(body), doc.created_at, at)

    async def get_document(self, collection: str, doc_id: str) -> Document | None:
        with self._state.lock:
            doc = self._state.documents.get((collection, doc_id))
        return _document(doc) if doc is not None else None

    async def list_documents(
        self, collection: str, *, after: After = None, limit: int | None = None
    ) -> list[Document]:
        with self._state.lock:
            docs = [d for (c, _), d in self._state.documents.items() if c == collection]
        docs = page_of(docs, lambda d: (d.created_at, d.id), after, limit)
        return [
            Document(d.collection, d.id, _copy(d.body), d.created_at, d.updated_at) for d in docs
        ]

    async def delete_document(self, collection: str, doc_id: str) -> bool:
        with self._state.lock:
            return self._state.documents.pop((collection, doc_id), None) is not None
