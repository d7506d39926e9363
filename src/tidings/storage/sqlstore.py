"""The :class:`~tidings.storage.roles.Store` implementation shared by SQLite and PostgreSQL.

The two backends differ only in how they connect and in their DDL; every query here is written in
the common subset (``ON CONFLICT ... DO UPDATE``, ``RETURNING``, ``?`` placeholders).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson

from tidings.storage import keys
from tidings.storage.attribution import AttributionMixin
from tidings.storage.catalogs import CatalogGuard, CatalogMixin
from tidings.storage.clock import now_ms
from tidings.storage.counting import fold_stats
from tidings.storage.engine import Engine, Row, Tx
from tidings.storage.eventlog import EventLogMixin
from tidings.storage.identitystates import IdentityStatesMixin
from tidings.storage.leases import LeasesMixin
from tidings.storage.migrations import Migration, apply_pending, current_version
from tidings.storage.outbox import OutboxMixin
from tidings.storage.paging import After, keyset
from tidings.storage.profilestore import ProfilesMixin
from tidings.storage.records import (
    CampaignState,
    CampaignStats,
    Cohort,
    CohortChange,
    Document,
    NotFoundError,
    SigningKey,
    StoredCampaign,
    StoreUnavailable,
    VersionConflict,
)
from tidings.storage.roles import Store
from tidings.storage.tenants import TenantsMixin, bump_project, json_text, require_app
from tidings.storage.tokens import AdminTokenMixin

HEALTH_PROBE_INTERVAL_SECONDS = 1.0
"""While writes fail, ``health()`` tries a write of its own at most this often."""
_PROBE_BODY = '"' + "x" * 65_536 + '"'
"""A JSON string the size of a typical upload: the probe row needs fresh pages, as real writes
do, so a full disk or a page limit fails the probe too."""


def _probe_write(tx: Tx) -> None:
    """Write and remove a row in one transaction: the smallest write that still allocates
    pages and commits, to learn whether the database takes writes again."""
    at = now_ms()
    tx.execute(
        "INSERT INTO documents (collection, id, body, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (collection, id) DO NOTHING",
        ("tidings:health", "probe", _PROBE_BODY, at, at),
    )
    tx.execute("DELETE FROM documents WHERE collection = ? AND id = ?", ("tidings:health", "probe"))


_CAMPAIGN_COLUMNS = "id, app_id, state, created_at, updated_at, body"


def _campaign(row: Row) -> StoredCampaign:
    return StoredCampaign(
        id=row[0],
        app_id=row[1],
        state=row[2],
        created_at=int(row[3]),
        updated_at=int(row[4]),
        body=orjson.loads(row[5]),
    )


def _bump_app(tx: Tx, app_id: str) -> None:
    """Called for campaign changes that involve an Active campaign only: the manifest holds only
    those, so a Draft edited in the dashboard does not make every device download it again."""
    tx.execute(
        "UPDATE projects SET revision = revision + 1"
        " WHERE id = (SELECT project_id FROM apps WHERE id = ?)",
        (app_id,),
    )


class SqlStore(
    TenantsMixin,
    AttributionMixin,
    EventLogMixin,
    CatalogMixin,
    AdminTokenMixin,
    OutboxMixin,
    LeasesMixin,
    IdentityStatesMixin,
    ProfilesMixin,
    Store,
):
    """A :class:`~tidings.storage.roles.Store` over an :class:`Engine`; subclasses only
    connect."""

    migrations: Sequence[Migration] = ()
    partitions = 1
    counts_on_append = True
    open_errors: tuple[type[Exception], ...] = (OSError,)
    """What the driver raises when a database cannot be opened (unreachable, unreadable...)."""

    def __init__(self, engine: Engine, server_key: bytes) -> None:
        self._engine = engine
        self._server_key = server_key
        self._append_waiters = set()
        self._signing_keys: dict[str, tuple[float, SigningKey]] = {}
        self._catalogs = CatalogGuard()
        self._token_uses = {}
        self._probed_at = float("-inf")

    def use_server_key(self, key: bytes) -> None:
        """Seal and unseal with ``key`` (set while the store opens, before any secret is read)."""
        self._server_key = key
        self._signing_keys.clear()

    @property
    def engine(self) -> Engine:
        """The engine (write statistics, ``hold``/``release`` for benchmarks and tests)."""
        return self._engine

    async def migrate(self) -> list[int]:
        """Apply pending migrations; returns the versions applied now (usually none)."""
        migrations = self.migrations
        return await self._engine.write(lambda tx: apply_pending(tx, migrations))

    # lifecycle -----------------------------------------------------------------------------------

    async def close(self) -> None:
        await self._engine.close()

    async def schema_version(self) -> int:
        return await self._engine.read(current_version)

    async def ping(self) -> bool:
        try:
            return bool(await self._engine.read(lambda tx: tx.scalar("SELECT 1")) == 1)
        except Exception:
            return False

    async def health(self) -> str | None:
        availability = self._engine.availability
        if availability.write_failure is not None:
            now = time.monotonic()
            if now - self._probed_at >= HEALTH_PROBE_INTERVAL_SECONDS:
                self._probed_at = now
                with contextlib.suppress(StoreUnavailable):
                    await self._engine.write(_probe_write)
            if availability.write_failure is not None:
                return availability.write_failure
        try:
            await self._engine.read(lambda tx: tx.scalar("SELECT 1"))
        except StoreUnavailable as exc:
            return exc.reason
        return None

    # campaigns -----------------------------------------------------------------------------------

    async def create_campaign(
        self, app_id: str, body: Mapping[str, Any], state: CampaignState = "Draft"
    ) -> StoredCampaign:
        at = now_ms()
        wanted = body.get("id")

        def run(tx: Tx) -> StoredCampaign:
            require_app(tx, app_id)
            campaign_id = wanted if isinstance(wanted, str) and wanted else keys.new_id("c")
            if tx.one("SELECT 1 FROM campaigns WHERE id = ?", (campaign_id,)) is not None:
                campaign_id = keys.new_id("c")
            full = {**body, "id": campaign_id, "state": state, "createdAt": at}
            tx.execute(
                f"INSERT INTO campaigns ({_CAMPAIGN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                (campaign_id, app_id, state, at, at, json_text(full)),
            )
            if state == "Active":
                _bump_app(tx, app_id)
            return StoredCampaign(campaign_id, app_id, state, at, at, full)

        return await self._engine.write(run)

    async def get_campaign(self, campaign_id: str) -> StoredCampaign | None:
        row = await self._engine.read(
            lambda tx: tx.one(
                f"SELECT {_CAMPAIGN_COLUMNS} FROM campaigns WHERE id = ?", (campaign_id,)
            )
        )
        return _campaign(row) if row else None

    async def list_campaigns(
        self,
        app_id: str,
        state: CampaignState | None = None,
        *,
        after: After = None,
        limit: int | None = None,
    ) -> list[StoredCampaign]:
        sql = f"SELECT {_CAMPAIGN_COLUMNS} FROM campaigns WHERE app_id = ?"
        params: list[Any] = [app_id]
        if state is not None:
            sql += " AND state = ?"
            params.append(state)
        page, page_params = keyset(("created_at", "id"), after, limit)
        rows = await self._engine.read(lambda tx: tx.all(sql + page, (*params, *page_params)))
        return [_campaign(r) for r in rows]

    async def campaign_counts(self, app_id: str) -> dict[str, int]:
        rows = await self._engine.read(
            lambda tx: tx.all(
                "SELECT state, COUNT(*) FROM campaigns WHERE app_id = ? GROUP BY state", (app_id,)
            )
        )
        return {str(state): int(count) for state, count in rows}

    async def _rewrite_campaign(
        self,
        campaign_id: str,
        body: Mapping[str, Any] | None,
        state: CampaignState | None,
        if_version: str | None = None,
    ) -> StoredCampaign:
        at = now_ms()

        def run(tx: Tx) -> StoredCampaign:
            # Every write transaction is serialised (SQLite's write lock, PostgreSQL's group
            # lock), so the version read here is the one the write replaces.
            row = tx.one(f"SELECT {_CAMPAIGN_COLUMNS} FROM campaigns WHERE id = ?", (campaign_id,))
            if row is None:
                raise NotFoundError("campaign", campaign_id)
            old = _campaign(row)
            if if_version is not None and old.version != if_version:
                raise VersionConflict(old)
            new_state = state or old.state
            base = body if body is not None else old.body
            full = {**base, "id": old.id, "state": new_state, "createdAt": old.created_at}
            tx.execute(
                "UPDATE campaigns SET state = ?, updated_at = ?, body = ? WHERE id = ?",
                (new_state, at, json_text(full), campaign_id),
            )
            if "Active" in (old.state, new_state):
                _bump_app(tx, old.app_id)
            return StoredCampaign(old.id, old.app_id, new_state, old.created_at, at, full)

        return await self._engine.write(run)

    async def replace_campaign(
        self, campaign_id: str, body: Mapping[str, Any], *, if_version: str | None = None
    ) -> StoredCampaign:
        return await self._rewrite_campaign(campaign_id, body, None, if_version)

    async def set_campaign_state(self, campaign_id: str, state: CampaignState) -> StoredCampaign:
        return await self._rewrite_campaign(campaign_id, None, state)

    async def delete_campaign(self, campaign_id: str) -> bool:
        def run(tx: Tx) -> bool:
            row = tx.one("SELECT app_id, state FROM campaigns WHERE id = ?", (campaign_id,))
            if row is None:
                return False
            tx.execute("DELETE FROM campaigns WHERE id = ?", (campaign_id,))
            if row[1] == "Active":
                _bump_app(tx, row[0])
            return True

        return await self._engine.write(run)

    async def project_campaign_ids(self, project_id: str, campaign_ids: Iterable[str]) -> set[str]:
        wanted = list(dict.fromkeys(campaign_ids))
        if not wanted:
            return set()
        marks = ", ".join("?" * len(wanted))
        rows = await self._engine.read(
            lambda tx: tx.all(
                "SELECT c.id FROM campaigns c JOIN apps a ON a.id = c.app_id"
                f" WHERE a.project_id = ? AND c.id IN ({marks})",
                (project_id, *wanted),
            )
        )
        return {r[0] for r in rows}

    async def config_revision(self, app_id: str) -> int:
        value = await self._engine.read(
            lambda tx: tx.scalar(
                "SELECT p.revision FROM projects p JOIN apps a ON a.project_id = p.id"
                " WHERE a.id = ?",
                (app_id,),
            )
        )
        if value is None:
            raise NotFoundError("app", app_id)
        return int(value)

    # cohorts -------------------------------------------------------------------------------------

    async def upsert_cohort(
        self, project_id: str, cohort_id: str, name: str, created_at: int | None = None
    ) -> Cohort:
        at = created_at if created_at is not None else now_ms()

        def run(tx: Tx) -> Cohort:
            if tx.one("SELECT 1 FROM projects WHERE id = ?", (project_id,)) is None:
                raise NotFoundError("project", project_id)
            tx.execute(
                "INSERT INTO cohorts (project_id, id, name, created_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (project_id, id) DO UPDATE SET name = excluded.name",
                (project_id, cohort_id, name, at),
            )
            bump_project(tx, project_id)
            return _cohort(tx, project_id, cohort_id)

        return await self._engine.write(run)

    async def apply_cohort_changes(
        self, project_id: str, cohort_id: str, changes: Sequence[CohortChange]
    ) -> Cohort:
        def run(tx: Tx) -> Cohort:
            _cohort(tx, project_id, cohort_id)
            for change in changes:
                rows = [(project_id, cohort_id, "u", m) for m in change.user_ids]
                rows += [(project_id, cohort_id, "d", m) for m in change.device_ids]
                if change.should_remove:
                    tx.executemany(
                        "DELETE FROM cohort_members WHERE project_id = ? AND cohort_id = ?"
                        " AND kind = ? AND member_id = ?",
                        rows,
                    )
                else:
                    tx.executemany(
                        "INSERT INTO cohort_members (project_id, cohort_id, kind, member_id)"
                        " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                        rows,
                    )
            bump_project(tx, project_id)
            return _cohort(tx, project_id, cohort_id)

        return await self._engine.write(run)

    async def list_cohorts(
        self,
        project_id: str | None = None,
        *,
        project_ids: Sequence[str] | None = None,
        after: After = None,
        limit: int | None = None,
    ) -> list[Cohort]:
        among = [project_id] if project_id is not None else project_ids
        if among is not None and not among:
            return []
        sql = (
            "SELECT c.id, c.project_id, c.name, c.created_at,"
            " (SELECT COUNT(*) FROM cohort_members m"
            "  WHERE m.project_id = c.project_id AND m.cohort_id = c.id)"
            " FROM cohorts c WHERE 1 = 1"
        )
        params: list[Any] = []
        if among is not None:
            sql += f" AND c.project_id IN ({', '.join('?' for _ in among)})"
            params += among
        page, page_params = keyset(("c.created_at", "c.project_id", "c.id"), after, limit)
        rows = await self._engine.read(lambda tx: tx.all(sql + page, (*params, *page_params)))
        return [Cohort(r[0], r[1], r[2], int(r[3]), int(r[4])) for r in rows]

    async def cohorts_for(
        self, project_id: str, user_id: str | None, device_id: str | None
    ) -> list[str]:
        def run(tx: Tx) -> list[str]:
            rows = tx.all(
                "SELECT DISTINCT cohort_id FROM cohort_members WHERE project_id = ?"
                " AND ((kind = 'u' AND member_id = ?) OR (kind = 'd' AND member_id = ?))",
                (project_id, user_id, device_id),
            )
            return sorted(r[0] for r in rows)

        if user_id is None and device_id is None:
            return []
        return await self._engine.read(run)

    # catalogs and stats --------------------------------------------------------------------------

    async def campaign_stats(self, campaign_id: str) -> CampaignStats:
        rows = await self._engine.read(
            lambda tx: tx.all(
                "SELECT day, metric, key, count FROM campaign_stats WHERE campaign_id = ?"
                " ORDER BY day, metric, key",
                (campaign_id,),
            )
        )
        return fold_stats(campaign_id, [(r[0], r[1], r[2], int(r[3])) for r in rows])

    # documents -----------------------------------------------------------------------------------

    async def put_document(self, collection: str, doc_id: str, body: Mapping[str, Any]) -> Document:
        at, text = now_ms(), json_text(body)

        def run(tx: Tx) -> Document:
            row = tx.one(
                "INSERT INTO documents (collection, id, body, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (collection, id) DO UPDATE SET"
                " body = excluded.body, updated_at = excluded.updated_at RETURNING created_at",
                (collection, doc_id, text, at, at),
            )
            assert row is not None
            return Document(collection, doc_id, orjson.loads(text), int(row[0]), at)

        return await self._engine.write(run)

    async def put_document_if_absent(
        self, collection: str, doc_id: str, body: Mapping[str, Any]
    ) -> Document:
        """Create a document unless one exists; returns whichever is stored (first writer wins)."""
        at, text = now_ms(), json_text(body)

        def run(tx: Tx) -> Document:
            tx.execute(
                "INSERT INTO documents (collection, id, body, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (collection, id) DO NOTHING",
                (collection, doc_id, text, at, at),
            )
            row = tx.one(
                "SELECT collection, id, body, created_at, updated_at FROM documents"
                " WHERE collection = ? AND id = ?",
                (collection, doc_id),
            )
            assert row is not None
            return _document(row)

        return await self._engine.write(run)

    async def any_sealed_secret(self) -> tuple[str, bytes] | None:
        """One stored ``(public key, sealed secret)``, to test a server key against."""
        row = await self._engine.read(
            lambda tx: tx.one("SELECT public_key, sealed_secret FROM api_keys LIMIT 1")
        )
        return (str(row[0]), bytes(row[1])) if row else None

    async def get_document(self, collection: str, doc_id: str) -> Document | None:
        row = await self._engine.read(
            lambda tx: tx.one(
                "SELECT collection, id, body, created_at, updated_at FROM documents"
                " WHERE collection = ? AND id = ?",
                (collection, doc_id),
            )
        )
        return _document(row) if row else None

    async def list_documents(
        self, collection: str, *, after: After = None, limit: int | None = None
    ) -> list[Document]:
        page, params = keyset(("created_at", "id"), after, limit)
        rows = await self._engine.read(
            lambda tx: tx.all(
                "SELECT collection, id, body, created_at, updated_at FROM documents"
                f" WHERE collection = ?{page}",
                (collection, *params),
            )
        )
        return [_document(r) for r in rows]

    async def delete_document(self, collection: str, doc_id: str) -> bool:
        def run(tx: Tx) -> bool:
            cur = tx.execute(
                "DELETE FROM documents WHERE collection = ? AND id = ?", (collection, doc_id)
            )
            return bool(cur.rowcount)

        return await self._engine.write(run)


def _document(row: Row) -> Document:
    return Document(row[0], row[1], orjson.loads(row[2]), int(row[3]), int(row[4]))


def _cohort(tx: Tx, project_id: str, cohort_id: str) -> Cohort:
    row = tx.one(
        "SELECT id, project_id, name, created_at FROM cohorts WHERE project_id = ? AND id = ?",
        (project_id, cohort_id),
    )
    if row is None:
        raise NotFoundError("cohort", cohort_id)
    count = tx.scalar(
        "SELECT COUNT(*) FROM cohort_members WHERE project_id = ? AND cohort_id = ?",
        (project_id, cohort_id),
    )
    return Cohort(row[0], row[1], row[2], int(row[3]), int(count or 0))
