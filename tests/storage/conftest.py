"""One store fixture, run against both backends.

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


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        path = tmp_path / "tidings.db"
        yield Backend("sqlite", f"sqlite:///{path}", path=path)
        return
    yield from _postgres()


@pytest.fixture
def postgres_backend() -> Iterator[Backend]:
    """For the tests about PostgreSQL alone."""
    yield from _postgres()


def _postgres() -> Iterator[Backend]:
    schema = f"tidings_test_{uuid.uuid4().hex[:12]}"
    yield Backend("postgresql", f"{PG_BASE}?schema={schema}", schema=schema)
    with psycopg.connect(PG_BASE, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
