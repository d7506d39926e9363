"""Store fixtures: every backend (memory, SQLite, PostgreSQL), or the two databases.

SQLite gets a fresh file per test; PostgreSQL (127.0.0.1:5432, trust auth, database ``test``)
gets a fresh schema per test that is dropped afterwards. ``TIDINGS_TEST_PG`` overrides the URL.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from storage_support import PG_BASE, Backend


def _backend(name: str, tmp_path: Path) -> Iterator[Backend]:
    if name == "memory":
        yield Backend("memory", "memory:")
        return
    if name == "sqlite":
        path = tmp_path / "tidings.db"
        yield Backend("sqlite", f"sqlite:///{path}", path=path)
        return
    schema = f"tidings_test_{uuid.uuid4().hex[:12]}"
    yield Backend("postgresql", f"{PG_BASE}?schema={schema}", schema=schema)
    with psycopg.connect(PG_BASE, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """Every implementation of the store's roles: they keep the same rules."""
    yield from _backend(request.param, tmp_path)


@pytest.fixture(params=["sqlite", "postgresql"])
def sql_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """The databases: what only they do (group commit, reconnects, files, keys at rest)."""
    yield from _backend(request.param, tmp_path)
