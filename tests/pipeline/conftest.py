"""Both backends, and the Amplitude stand-in, for the pipeline tests."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "destinations"))
sys.path.insert(0, str(HERE.parent / "storage"))

from amplitude_standin import Standin  # noqa: E402
from storage_support import PG_BASE, Backend  # noqa: E402


def _backend(name: str, tmp_path: Path) -> Iterator[Backend]:
    if name == "memory":
        yield Backend("memory", "memory:")
        return
    if name == "sqlite":
        path = tmp_path / "tidings.db"
        yield Backend("sqlite", f"sqlite:///{path}", path=path)
        return
    schema = f"tidings_pipe_{uuid.uuid4().hex[:12]}"
    yield Backend("postgresql", f"{PG_BASE}?schema={schema}", schema=schema)
    with psycopg.connect(PG_BASE, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture
def amp() -> Iterator[Standin]:
    with Standin() as server:
        yield server


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """Every backend: the pipeline depends on the store's roles only."""
    yield from _backend(request.param, tmp_path)


@pytest.fixture(params=["sqlite", "postgresql"])
def sql_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """A database other processes can open too (a worker process, a server by URL)."""
    yield from _backend(request.param, tmp_path)
