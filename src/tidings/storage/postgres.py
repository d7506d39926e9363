"""The PostgreSQL backend, for several stateless server and worker processes on one database.

It uses psycopg 3 synchronously on the engine's threads (the same code path as SQLite). Each
write transaction first takes a transaction-scoped advisory lock, so identity values of the event
log are handed out in commit order across all processes; that is what lets a consumer cursor be
a single number. Group commit keeps the lock cheap: one acquisition per group, not per request.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from tidings.storage.engine import Dialect, Engine
from tidings.storage.migrations.postgres import MIGRATIONS
from tidings.storage.records import StoreOptions
from tidings.storage.sqlstore import SqlStore

_LOG_LOCK_KEY = 0x7469_6469  # "tidi": an arbitrary constant shared by every Tidings process

POSTGRES = Dialect(
    name="postgresql",
    begin="BEGIN",
    # Keyed by schema too, so several installations in one database do not wait on each other.
    group_lock=f"SELECT pg_advisory_xact_lock({_LOG_LOCK_KEY}, hashtext(current_schema()))",
    pyformat=True,
    transient=(psycopg.OperationalError,),
)


CONNECT_TIMEOUT_SECONDS = 10
"""How long a connection attempt may take unless the URL says (``connect_timeout=``): a
database behind a dead route is reported after this, not after the system's TCP timeout."""


def _connect(dsn: str, schema: str | None) -> Any:
    conn = psycopg.connect(dsn, autocommit=True)
    if schema:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
    return conn


class PostgresStore(SqlStore):
    """:class:`~tidings.storage.roles.Store` on PostgreSQL."""

    backend = "postgresql"
    migrations = MIGRATIONS
    open_errors = (OSError, psycopg.Error)

    def __init__(self, engine: Engine, server_key: bytes, schema: str | None) -> None:
        super().__init__(engine, server_key)
        self.schema = schema

    @classmethod
    async def open(
        cls,
        dsn: str,
        *,
        schema: str | None = None,
        server_key: bytes,
        options: StoreOptions | None = None,
    ) -> PostgresStore:
        """Connect, create ``schema`` when given and missing, and migrate."""
        opts = options or StoreOptions()
        if "connect_timeout" not in conninfo_to_dict(dsn):
            dsn = make_conninfo(dsn, connect_timeout=CONNECT_TIMEOUT_SECONDS)
        if schema:
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema))
                )
        engine = Engine(
            POSTGRES,
            lambda: _connect(dsn, schema),
            lambda: _connect(dsn, schema),
            max_group=opts.max_group,
            read_threads=opts.read_threads,
            name="tidings-pg",
        )
        store = cls(engine, server_key, schema)
        try:
            await store.migrate()
        except BaseException:
            await engine.close()
            raise
        return store
