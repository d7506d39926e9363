"""Server tests run against real stores: a SQLite file, and a PostgreSQL schema per test."""

from __future__ import annotations

from server_support import (  # noqa: F401 - fixtures, registered by being imported here
    anyio_backend,
    db_url,
    pg_url,
    sq,
    sqlite_url,
    srv,
)
