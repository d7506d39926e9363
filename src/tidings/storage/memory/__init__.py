"""An in-memory :class:`~tidings.storage.roles.Store`: every role, no database.

It keeps the SQL store's rules (idempotent appends, one transaction per ingest, fenced cursor
commits, per-key outbox order, one dead letter per item), so the pipeline's tests run on it as
they run on SQLite and PostgreSQL, and an embedding or a benchmark can run the whole pipeline
without a file. Nothing survives the process: a :class:`MemoryState` passed to several stores
in turn is what "reopening" means here.
"""

from __future__ import annotations

import asyncio

from tidings.storage.memory.attribution import MemoryAttribution
from tidings.storage.memory.config import MemoryConfig
from tidings.storage.memory.delivery import MemoryDelivery
from tidings.storage.memory.identity import MemoryIdentityStates
from tidings.storage.memory.log import MemoryLog
from tidings.storage.memory.profiles import MemoryProfiles
from tidings.storage.memory.state import MemoryState
from tidings.storage.roles import Store


class MemoryStore(
    MemoryConfig,
    MemoryAttribution,
    MemoryLog,
    MemoryDelivery,
    MemoryIdentityStates,
    MemoryProfiles,
    Store,
):
    """A store whose data lives in a :class:`MemoryState` (a fresh one by default)."""

    backend = "memory"
    partitions = 1
    counts_on_append = True

    def __init__(self, state: MemoryState | None = None) -> None:
        self._state = state if state is not None else MemoryState()
        self._append_waiters: set[asyncio.Future[None]] = set()
        self._closed = False

    @property
    def state(self) -> MemoryState:
        """The data, to open another store on it (a restart) or to inspect it in tests."""
        return self._state

    async def close(self) -> None:
        self._closed = True

    async def schema_version(self) -> int:
        return 0

    async def ping(self) -> bool:
        return not self._closed

    async def health(self) -> str | None:
        return "the store is closed" if self._closed else None


__all__ = ["MemoryState", "MemoryStore"]
