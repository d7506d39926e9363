"""Both backends, and the Amplitude stand-in, for the pipeline tests."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "destinations"))
sys.path.insert(0, str(HERE.parent / "storage"))

from amplitude_standin import Standin  # noqa: E402
from storage_support import Backend, backend_named  # noqa: E402


def _backend(name: str, tmp_path: Path) -> Iterator[Backend]:
    yield from backend_named(name, tmp_path, "tidings_pipe")


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


@pytest.fixture
def js_backend(tmp_path: Path) -> Iterator[Backend]:
    """The event log on JetStream (a stream of its own, 4 partitions) beside SQLite."""
    yield from _backend("jetstream", tmp_path)
