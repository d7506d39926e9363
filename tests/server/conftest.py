"""Server tests run against real stores: a SQLite file, and a PostgreSQL schema per test."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from server_support import PG_BASE, Harness, harness


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _pg_url() -> Iterator[str]:
    schema = f"tidings_srv_{uuid.uuid4().hex[:12]}"
    yield f"{PG_BASE}?schema={schema}"
    with psycopg.connect(PG_BASE, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Both backends: for the behaviour that touches storage semantics."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tidings.db'}"
    else:
        yield from _pg_url()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'tidings.db'}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from _pg_url()


@pytest.fixture
async def srv(db_url: str) -> AsyncIterator[Harness]:
    async with harness(db_url) as h:
        yield h


@pytest.fixture
async def sq(sqlite_url: str) -> AsyncIterator[Harness]:
    async with harness(sqlite_url) as h:
        yield h
