"""The embedded backend: one SQLite file in WAL mode, zero setup.

``journal_mode=WAL`` lets readers run while the single writer commits; ``synchronous=FULL``
makes every commit durable against power loss, not only against a crashed process, which is
what "nothing acknowledged is lost" needs. Group commit (see :mod:`tidings.storage.engine`)
is what keeps FULL affordable: one ``fsync`` serves every request that waited for it.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tidings.storage.base import StoreOptions
from tidings.storage.engine import Dialect, Engine
from tidings.storage.migrations.sqlite import MIGRATIONS
from tidings.storage.sqlstore import SqlStore

SQLITE = Dialect(
    name="sqlite",
    begin="BEGIN IMMEDIATE",
    transient=(sqlite3.OperationalError, sqlite3.ProgrammingError),
)


def _connect(path: Path, *, writer: bool) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30.0)
    conn.execute("PRAGMA busy_timeout = 30000")
    if writer:
        conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    if not writer:
        conn.execute("PRAGMA query_only = ON")
    return conn


class SqliteStore(SqlStore):
    """:class:`~tidings.storage.base.Store` on a SQLite file."""

    backend = "sqlite"
    migrations = MIGRATIONS

    def __init__(self, engine: Engine, server_key: bytes, path: Path) -> None:
        super().__init__(engine, server_key)
        self.path = path

    @classmethod
    async def open(
        cls, path: Path, *, server_key: bytes, options: StoreOptions | None = None
    ) -> SqliteStore:
        """Open (creating the file if needed) and migrate."""
        opts = options or StoreOptions()
        path.parent.mkdir(parents=True, exist_ok=True)
        engine = Engine(
            SQLITE,
            lambda: _connect(path, writer=True),
            lambda: _connect(path, writer=False),
            max_group=opts.max_group,
            read_threads=opts.read_threads,
            name="tidings-sqlite",
        )
        store = cls(engine, server_key, path)
        try:
            await store.migrate()
        except BaseException:
            await engine.close()
            raise
        return store
