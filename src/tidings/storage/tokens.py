"""Admin tokens: named, listable, revocable, optionally expiring and scoped to projects.

A token is a 256-bit credential shown once; the store keeps its SHA-256 digest and a public id
(``tok_...``) by which it is listed and revoked. ``project_ids`` limits what the token may see
and change to those projects (``None``: every project); the server enforces it on every admin
route and dashboard page.

Last use is recorded without a write per request: a lookup writes ``last_used_at`` only when the
stored value is at least :data:`LAST_USE_RESOLUTION_MS` old, so a busy token costs one small
write a minute (per process at most), and the listing is accurate to that minute.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from tidings.storage import keys
from tidings.storage.clock import now_ms
from tidings.storage.engine import Engine, Row, Tx
from tidings.storage.paging import After, keyset
from tidings.storage.records import NotFoundError

LAST_USE_RESOLUTION_MS = 60_000
"""``last_used_at`` is rewritten at most this often per token."""

_COLUMNS = "id, label, created_at, last_used_at, expires_at, project_ids, revoked_at"


@dataclass(frozen=True, slots=True)
class AdminToken:
    """An admin token as listed: never the credential itself."""

    id: str
    name: str
    created_at: int
    last_used_at: int | None
    expires_at: int | None
    project_ids: tuple[str, ...] | None
    """The projects the token is limited to; ``None`` for every project."""
    revoked_at: int | None

    @property
    def scoped(self) -> bool:
        """Whether the token is limited to some projects."""
        return self.project_ids is not None

    def allows(self, project_id: str) -> bool:
        """Whether the token may see and change ``project_id``."""
        return self.project_ids is None or project_id in self.project_ids

    def active_at(self, at_ms: int) -> bool:
        """Not revoked and not expired at ``at_ms``."""
        return self.revoked_at is None and (self.expires_at is None or at_ms < self.expires_at)

    def to_json(self) -> dict[str, Any]:
        """``{id, name, createdAt, lastUsedAt, expiresAt, projectIds, revokedAt}``."""
        return {
            "id": self.id,
            "name": self.name,
            "createdAt": self.created_at,
            "lastUsedAt": self.last_used_at,
            "expiresAt": self.expires_at,
            "projectIds": list(self.project_ids) if self.project_ids is not None else None,
            "revokedAt": self.revoked_at,
        }


@dataclass(frozen=True, slots=True)
class IssuedAdminToken:
    """A new token: the credential (shown once) and its listing."""

    token: str
    info: AdminToken


def _token(row: Row) -> AdminToken:
    projects = orjson.loads(row[5]) if row[5] is not None else None
    return AdminToken(
        id=row[0],
        name=row[1],
        created_at=int(row[2]),
        last_used_at=int(row[3]) if row[3] is not None else None,
        expires_at=int(row[4]) if row[4] is not None else None,
        project_ids=tuple(projects) if projects is not None else None,
        revoked_at=int(row[6]) if row[6] is not None else None,
    )


class AdminTokenMixin:
    """Admin-token methods of :class:`~tidings.storage.roles.Store` for the SQL backends."""

    _engine: Engine
    _token_uses: dict[str, int]
    """Token id → the last use this process recorded (so concurrent requests write once)."""

    async def issue_admin_token(
        self,
        name: str = "",
        *,
        expires_at: int | None = None,
        project_ids: Sequence[str] | None = None,
    ) -> IssuedAdminToken:
        """Make a token (returned once, stored as a digest); unknown projects raise
        :class:`NotFoundError`."""
        token = keys.new_credential("tat")
        scope = list(dict.fromkeys(project_ids)) if project_ids is not None else None
        info = AdminToken(
            id=keys.new_id("tok"),
            name=name,
            created_at=now_ms(),
            last_used_at=None,
            expires_at=expires_at,
            project_ids=tuple(scope) if scope is not None else None,
            revoked_at=None,
        )

        def run(tx: Tx) -> None:
            for project_id in scope or ():
                if tx.one("SELECT 1 FROM projects WHERE id = ?", (project_id,)) is None:
                    raise NotFoundError("project", project_id)
            tx.execute(
                f"INSERT INTO admin_tokens (token_hash, {_COLUMNS})"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    keys.digest(token),
                    info.id,
                    name,
                    info.created_at,
                    None,
                    expires_at,
                    orjson.dumps(scope).decode() if scope is not None else None,
                    None,
                ),
            )

        await self._engine.write(run)
        return IssuedAdminToken(token, info)

    async def admin_token(self, token: str, at_ms: int | None = None) -> AdminToken | None:
        """The token's listing when it is active at ``at_ms`` (default now), else ``None``.

        Records the use, coalesced (see the module docstring).
        """
        at = now_ms() if at_ms is None else at_ms
        hashed = keys.digest(token)
        row = await self._engine.read(
            lambda tx: tx.one(
                f"SELECT {_COLUMNS} FROM admin_tokens WHERE token_hash = ?", (hashed,)
            )
        )
        if row is None:
            return None
        info = _token(row)
        if not info.active_at(at):
            return None
        last = max(info.last_used_at or 0, self._token_uses.get(info.id, 0))
        if at - last >= LAST_USE_RESOLUTION_MS:
            if len(self._token_uses) >= 10_000:
                self._token_uses.clear()
            self._token_uses[info.id] = at
            await self._engine.write(
                lambda tx: tx.execute(
                    "UPDATE admin_tokens SET last_used_at = ? WHERE id = ?"
                    " AND (last_used_at IS NULL OR last_used_at < ?)",
                    (at, info.id, at),
                )
            )
        return info

    async def get_admin_token(self, token_id: str) -> AdminToken | None:
        """A token's listing by its id (revoked ones too), or ``None``."""
        row = await self._engine.read(
            lambda tx: tx.one(f"SELECT {_COLUMNS} FROM admin_tokens WHERE id = ?", (token_id,))
        )
        return _token(row) if row else None

    async def list_admin_tokens(
        self, *, after: After = None, limit: int | None = None
    ) -> list[AdminToken]:
        """Every token (revoked and expired ones too), oldest first, paged by
        ``(created_at, id)``."""
        where, params = keyset(("created_at", "id"), after, limit)
        rows = await self._engine.read(
            lambda tx: tx.all(
                f"SELECT {_COLUMNS} FROM admin_tokens WHERE id IS NOT NULL{where}", params
            )
        )
        return [_token(r) for r in rows]

    async def revoke_admin_token(self, token: str) -> bool:
        """Revoke a token given the credential; False when it was not active."""
        return await self._revoke("token_hash", keys.digest(token))

    async def revoke_admin_token_id(self, token_id: str) -> bool:
        """Revoke a token by its id; False when there is no such unrevoked token."""
        return await self._revoke("id", token_id)

    async def _revoke(self, column: str, value: str) -> bool:
        at = now_ms()

        def run(tx: Tx) -> bool:
            cur = tx.execute(
                f"UPDATE admin_tokens SET revoked_at = ? WHERE {column} = ? AND revoked_at IS NULL",
                (at, value),
            )
            return bool(cur.rowcount)

        return await self._engine.write(run)
