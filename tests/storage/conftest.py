"""Store fixtures: every backend (memory, SQLite, PostgreSQL), or the two databases.

SQLite gets a fresh file per test; PostgreSQL (127.0.0.1:5432, trust auth, database ``test``)
gets a fresh schema per test that is dropped afterwards. ``TIDINGS_TEST_PG`` overrides the URL.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from storage_support import Backend, backend_named


def _backend(name: str, tmp_path: Path) -> Iterator[Backend]:
    yield from backend_named(name, tmp_path, "tidings_test")


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """Every implementation of the store's roles: they keep the same rules."""
    yield from _backend(request.param, tmp_path)


@pytest.fixture(params=["memory", "sqlite", "postgresql", "jetstream"])
def log_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """Every event log: the three stores' own, and JetStream beside a SQLite control plane
    (a stream of its own on the NATS server at 127.0.0.1:4222)."""
    yield from _backend(request.param, tmp_path)


@pytest.fixture(params=["sqlite", "postgresql"])
def sql_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """The databases: what only they do (group commit, reconnects, files, keys at rest)."""
    yield from _backend(request.param, tmp_path)


@pytest.fixture
def postgres_backend(tmp_path: Path) -> Iterator[Backend]:
    """For the tests about PostgreSQL alone."""
    yield from _backend("postgresql", tmp_path)
