"""Versioned schema migrations.

Each backend lists its migrations as ``(version, description, statements)``; versions start at 1
and only ever grow. :func:`apply_pending` runs inside one write transaction (which, on PostgreSQL,
also holds the writer's advisory lock), so two processes opening the same database at once apply
each migration exactly once, and a failed migration leaves the schema at the previous version.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from tidings.storage.engine import Tx

Migration = tuple[int, str, Sequence[str]]

_VERSION_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_version ("
    " version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at BIGINT NOT NULL)"
)


def current_version(tx: Tx) -> int:
    """The highest applied version (0 for an empty database)."""
    tx.execute(_VERSION_TABLE)
    value = tx.scalar("SELECT MAX(version) FROM schema_version")
    return int(value) if value is not None else 0


def apply_pending(tx: Tx, migrations: Sequence[Migration]) -> list[int]:
    """Apply every migration newer than the current version, in order; return their versions."""
    versions = [m[0] for m in migrations]
    if versions != sorted(set(versions)) or (versions and versions[0] != 1):
        raise ValueError("migration versions must be 1, 2, 3, ... without gaps or repeats")
    have = current_version(tx)
    applied: list[int] = []
    for version, description, statements in migrations:
        if version <= have:
            continue
        for statement in statements:
            tx.execute(statement)
        tx.execute(
            "INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)",
            (version, description, int(time.time() * 1000)),
        )
        applied.append(version)
    return applied
