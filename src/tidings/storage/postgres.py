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


def unavailable(exc: BaseException) -> str | None:
    """Why a psycopg error means the database cannot serve now, or ``None``.

    Operational errors are the server's state, not the statement: the connection lost or
    refused (class 08), the server shutting down or restarting (57P), insufficient resources
    such as a full disk or too many connections (53), a lock or statement timeout (55P03,
    57014), a serialization conflict (40). A read-only transaction (25006: a standby, or
    ``default_transaction_read_only``) and a closed connection are too.
    """
    if isinstance(exc, psycopg.errors.ReadOnlySqlTransaction):
        return f"the database is read-only ({_first_line(exc)})"
    if isinstance(exc, psycopg.InterfaceError) and "closed" in str(exc):
        return "the database connection is closed"
    if isinstance(exc, psycopg.OperationalError):
        state = getattr(exc, "sqlstate", None)
        return f"{_first_line(exc)}" + (f" (SQLSTATE {state})" if state else "")
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


POSTGRES = Dialect(
    name="postgresql",
    begin="BEGIN",
    # Keyed by schema too, so several installations in one database do not wait on each other.
    group_lock=f"SELECT pg_advisory_xact_lock({_LOG_LOCK_KEY}, hashtext(current_schema()))",
    pyformat=True,
    transient=(psycopg.OperationalError,),
    unavailable=unavailable,
)

CONNECTION_DEFAULTS = {
    "connect_timeout": "10",
    "keepalives": "1",
    "keepalives_idle": "30",
    "keepalives_interval": "10",
    "keepalives_count": "3",
}
"""libpq settings used unless the URL sets them: a database that stops answering is noticed
(a refused or hung connection attempt fails after 10 s; a dead peer within about a minute)
instead of holding the writer for the operating system's TCP timeout."""


CONNECT_TIMEOUT_SECONDS = 10
"""How long a connection attempt may take unless the URL says (``connect_timeout=``): a
database behind a dead route is reported after this, not after the system's TCP timeout."""


def _connect(dsn: str, schema: str | None) -> Any:
    given = conninfo_to_dict(dsn)
    extra = {k: v for k, v in CONNECTION_DEFAULTS.items() if k not in given}
    conn = psycopg.connect(make_conninfo(dsn, **extra), autocommit=True)
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
