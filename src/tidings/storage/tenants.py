"""Tenants in the database: projects, apps and their credentials (``SqlStore``'s config role).

A project holds apps and a data import key; an app holds its signing key pairs and Segment write
keys. Secrets are sealed with the server key before they are stored, and only digests of the
credentials that are looked up by value (import keys, write keys) are kept.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import orjson

from tidings.storage import keys
from tidings.storage.clock import now_ms
from tidings.storage.engine import Engine, Row, Tx
from tidings.storage.paging import After, keyset
from tidings.storage.records import (
    ApiKeyInfo,
    AppCredentials,
    Application,
    KeyPair,
    NotFoundError,
    Project,
    ProjectConfig,
    SigningKey,
)

SIGNING_KEY_TTL_SECONDS = 5.0
"""How long a looked-up signing key is reused before it is read again."""
SIGNING_KEY_CACHE_SIZE = 10_000
"""Keys kept at most (the cache is emptied when full; only keys that exist are kept)."""
_REVOKED = "revoked:"
"""A revoked data import key's hash column holds this prefix and random text: no digest (hex)
ever equals it, and the column stays unique."""
_PROJECT_COLUMNS = f"id, name, settings, created_at, substr(import_key_hash, 1, 8) <> '{_REVOKED}'"
_APP_COLUMNS = "id, project_id, name, platform, created_at"


def _project(row: Row, import_key: str | None = None) -> Project:
    return Project(
        id=row[0],
        name=row[1],
        settings=ProjectConfig.from_json(orjson.loads(row[2])),
        created_at=int(row[3]),
        data_import_key=import_key,
        import_key_active=bool(row[4]),
    )


def _app(row: Row) -> Application:
    return Application(
        id=row[0], project_id=row[1], name=row[2], platform=row[3], created_at=int(row[4])
    )


def json_text(value: Any) -> str:
    """``value`` as JSON text, for the text columns that hold documents."""
    return orjson.dumps(value).decode("utf-8")


def bump_project(tx: Tx, project_id: str) -> None:
    """Advance the config revision served as ETag material for every app of the project."""
    tx.execute("UPDATE projects SET revision = revision + 1 WHERE id = ?", (project_id,))


def _new_key_pair(tx: Tx, server_key: bytes, app_id: str, at: int) -> KeyPair:
    public = keys.new_credential("pk")
    secret = keys.new_credential("sk")
    tx.execute(
        "INSERT INTO api_keys (public_key, app_id, sealed_secret, created_at) VALUES (?, ?, ?, ?)",
        (public, app_id, keys.seal(server_key, secret, public), at),
    )
    return KeyPair(app_id=app_id, api_key_public=public, api_key_secret=secret)


def _new_write_key(tx: Tx, app_id: str, at: int) -> str:
    write_key = keys.new_credential("wk")
    tx.execute(
        "INSERT INTO write_keys (key_hash, app_id, created_at) VALUES (?, ?, ?)",
        (keys.digest(write_key), app_id, at),
    )
    return write_key


def require_app(tx: Tx, app_id: str) -> None:
    """Raise :class:`NotFoundError` unless the app exists (inside the caller's transaction)."""
    if tx.one("SELECT 1 FROM apps WHERE id = ?", (app_id,)) is None:
        raise NotFoundError("app", app_id)


class TenantsMixin:
    """Projects, apps, API key pairs and write keys of ``SqlStore``."""

    _engine: Engine
    _server_key: bytes
    _signing_keys: dict[str, tuple[float, SigningKey]]

    # projects ------------------------------------------------------------------------------------

    async def create_project(self, name: str, settings: ProjectConfig | None = None) -> Project:
        project_id = keys.new_id("prj")
        import_key = keys.new_credential("dik")
        chosen = settings or ProjectConfig()
        at = now_ms()

        def run(tx: Tx) -> None:
            tx.execute(
                "INSERT INTO projects (id, name, settings, import_key_hash, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (project_id, name, json_text(chosen.to_json()), keys.digest(import_key), at),
            )

        await self._engine.write(run)
        return Project(project_id, name, chosen, at, data_import_key=import_key)

    async def get_project(self, project_id: str) -> Project | None:
        row = await self._engine.read(
            lambda tx: tx.one(
                f"SELECT {_PROJECT_COLUMNS} FROM projects WHERE id = ?", (project_id,)
            )
        )
        return _project(row) if row else None

    async def get_project_by_name(self, name: str) -> Project | None:
        row = await self._engine.read(
            lambda tx: tx.one(
                f"SELECT {_PROJECT_COLUMNS} FROM projects WHERE name = ?"
                " ORDER BY created_at, id LIMIT 1",
                (name,),
            )
        )
        return _project(row) if row else None

    async def list_projects(
        self,
        *,
        ids: Sequence[str] | None = None,
        after: After = None,
        limit: int | None = None,
    ) -> list[Project]:
        if ids is not None and not ids:
            return []
        where, params = "1 = 1", []
        if ids is not None:
            where, params = f"id IN ({', '.join('?' for _ in ids)})", list(ids)
        page, page_params = keyset(("created_at", "id"), after, limit)
        rows = await self._engine.read(
            lambda tx: tx.all(
                f"SELECT {_PROJECT_COLUMNS} FROM projects WHERE {where}{page}",
                (*params, *page_params),
            )
        )
        return [_project(r) for r in rows]

    async def update_project_settings(self, project_id: str, settings: ProjectConfig) -> Project:
        def run(tx: Tx) -> Row:
            tx.execute(
                "UPDATE projects SET settings = ?, revision = revision + 1 WHERE id = ?",
                (json_text(settings.to_json()), project_id),
            )
            row = tx.one(f"SELECT {_PROJECT_COLUMNS} FROM projects WHERE id = ?", (project_id,))
            if row is None:
                raise NotFoundError("project", project_id)
            return row

        return _project(await self._engine.write(run))

    async def rotate_data_import_key(self, project_id: str) -> str:
        import_key = keys.new_credential("dik")

        def run(tx: Tx) -> None:
            cur = tx.execute(
                "UPDATE projects SET import_key_hash = ? WHERE id = ?",
                (keys.digest(import_key), project_id),
            )
            if cur.rowcount == 0:
                raise NotFoundError("project", project_id)

        await self._engine.write(run)
        return import_key

    async def revoke_data_import_key(self, project_id: str) -> bool:
        revoked = _REVOKED + keys.new_id("key")

        def run(tx: Tx) -> bool:
            cur = tx.execute(
                "UPDATE projects SET import_key_hash = ?"
                f" WHERE id = ? AND substr(import_key_hash, 1, 8) <> '{_REVOKED}'",
                (revoked, project_id),
            )
            if cur.rowcount:
                return True
            if tx.one("SELECT 1 FROM projects WHERE id = ?", (project_id,)) is None:
                raise NotFoundError("project", project_id)
            return False

        return bool(await self._engine.write(run))

    async def project_for_import_key(self, data_import_key: str) -> Project | None:
        hashed = keys.digest(data_import_key)
        row = await self._engine.read(
            lambda tx: tx.one(
                f"SELECT {_PROJECT_COLUMNS} FROM projects WHERE import_key_hash = ?", (hashed,)
            )
        )
        return _project(row) if row else None

    # applications and keys -----------------------------------------------------------------------

    async def create_app(self, project_id: str, name: str, platform: str) -> AppCredentials:
        app_id = keys.new_id("app")
        at = now_ms()
        server_key = self._server_key

        def run(tx: Tx) -> AppCredentials:
            if tx.one("SELECT 1 FROM projects WHERE id = ?", (project_id,)) is None:
                raise NotFoundError("project", project_id)
            tx.execute(
                "INSERT INTO apps (id, project_id, name, platform, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (app_id, project_id, name, platform, at),
            )
            pair = _new_key_pair(tx, server_key, app_id, at)
            write_key = _new_write_key(tx, app_id, at)
            return AppCredentials(app_id, pair.api_key_public, pair.api_key_secret, write_key)

        return await self._engine.write(run)

    async def get_app(self, app_id: str) -> Application | None:
        row = await self._engine.read(
            lambda tx: tx.one(f"SELECT {_APP_COLUMNS} FROM apps WHERE id = ?", (app_id,))
        )
        return _app(row) if row else None

    async def list_apps(
        self, project_id: str | None = None, *, after: After = None, limit: int | None = None
    ) -> list[Application]:
        where, params = ("1 = 1", []) if project_id is None else ("project_id = ?", [project_id])
        page, page_params = keyset(("created_at", "id"), after, limit)
        sql = f"SELECT {_APP_COLUMNS} FROM apps WHERE {where}{page}"
        rows = await self._engine.read(lambda tx: tx.all(sql, (*params, *page_params)))
        return [_app(r) for r in rows]

    async def rotate_keys(self, app_id: str) -> KeyPair:
        server_key = self._server_key
        at = now_ms()

        def run(tx: Tx) -> KeyPair:
            require_app(tx, app_id)
            return _new_key_pair(tx, server_key, app_id, at)

        return await self._engine.write(run)

    async def revoke_key(self, app_id: str, api_key_public: str) -> bool:
        at = now_ms()

        def run(tx: Tx) -> bool:
            cur = tx.execute(
                "UPDATE api_keys SET revoked_at = ?"
                " WHERE public_key = ? AND app_id = ? AND revoked_at IS NULL",
                (at, api_key_public, app_id),
            )
            return bool(cur.rowcount)

        revoked = await self._engine.write(run)
        # After the commit: a lookup running meanwhile may have cached the key again.
        self._signing_keys.pop(api_key_public, None)
        return revoked

    async def list_keys(
        self, app_id: str, *, after: After = None, limit: int | None = None
    ) -> list[ApiKeyInfo]:
        page, params = keyset(("created_at", "public_key"), after, limit)
        rows = await self._engine.read(
            lambda tx: tx.all(
                "SELECT app_id, public_key, created_at, revoked_at FROM api_keys"
                f" WHERE app_id = ?{page}",
                (app_id, *params),
            )
        )
        return [
            ApiKeyInfo(r[0], r[1], int(r[2]), int(r[3]) if r[3] is not None else None) for r in rows
        ]

    async def signing_key(self, api_key_public: str) -> SigningKey | None:
        # Every signed request needs its key: a lookup plus unsealing costs ~80 us of CPU, so
        # known keys are kept for SIGNING_KEY_TTL_SECONDS. A revocation through this store
        # takes effect at once; one made by another process within that time.
        now = time.monotonic()
        cached = self._signing_keys.get(api_key_public)
        if cached is not None and cached[0] > now:
            return cached[1]
        row = await self._engine.read(
            lambda tx: tx.one(
                "SELECT k.app_id, a.project_id, k.sealed_secret FROM api_keys k"
                " JOIN apps a ON a.id = k.app_id WHERE k.public_key = ? AND k.revoked_at IS NULL",
                (api_key_public,),
            )
        )
        if row is None:
            self._signing_keys.pop(api_key_public, None)
            return None
        secret = keys.unseal(self._server_key, row[2], api_key_public)
        key = SigningKey(row[0], row[1], api_key_public, secret)
        if len(self._signing_keys) >= SIGNING_KEY_CACHE_SIZE:
            self._signing_keys.clear()
        self._signing_keys[api_key_public] = (now + SIGNING_KEY_TTL_SECONDS, key)
        return key

    async def rotate_write_key(self, app_id: str) -> str:
        at = now_ms()

        def run(tx: Tx) -> str:
            require_app(tx, app_id)
            return _new_write_key(tx, app_id, at)

        return await self._engine.write(run)

    async def revoke_write_key(self, app_id: str, write_key: str) -> bool:
        at, hashed = now_ms(), keys.digest(write_key)

        def run(tx: Tx) -> bool:
            cur = tx.execute(
                "UPDATE write_keys SET revoked_at = ?"
                " WHERE key_hash = ? AND app_id = ? AND revoked_at IS NULL",
                (at, hashed, app_id),
            )
            return bool(cur.rowcount)

        return await self._engine.write(run)

    async def app_for_write_key(self, write_key: str) -> Application | None:
        hashed = keys.digest(write_key)
        row = await self._engine.read(
            lambda tx: tx.one(
                "SELECT a.id, a.project_id, a.name, a.platform, a.created_at FROM write_keys w"
                " JOIN apps a ON a.id = w.app_id WHERE w.key_hash = ? AND w.revoked_at IS NULL",
                (hashed,),
            )
        )
        return _app(row) if row else None
