"""The embedded backend: one SQLite file in WAL mode, zero setup.

``journal_mode=WAL`` lets readers run while the single writer commits; ``synchronous=FULL``
makes every commit durable against power loss, not only against a crashed process, which is
what "nothing acknowledged is lost" needs. Group commit (see :mod:`tidings.storage.engine`)
is what keeps FULL affordable: one ``fsync`` serves every request that waited for it.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from pathlib import Path

from tidings.storage.engine import Dialect, Engine
from tidings.storage.migrations.sqlite import MIGRATIONS
from tidings.storage.records import StoreOptions
from tidings.storage.sqlstore import SqlStore

_UNAVAILABLE = {
    sqlite3.SQLITE_BUSY: "the database is locked (lock wait timed out)",
    sqlite3.SQLITE_LOCKED: "the database is locked (lock wait timed out)",
    sqlite3.SQLITE_NOMEM: "out of memory",
    sqlite3.SQLITE_READONLY: "the database is read-only",
    sqlite3.SQLITE_IOERR: "disk I/O error",
    sqlite3.SQLITE_FULL: "the database or disk is full",
    sqlite3.SQLITE_CANTOPEN: "the database file cannot be opened",
    sqlite3.SQLITE_PROTOCOL: "the database lock protocol failed",
}
"""SQLite's primary result codes that mean the file cannot be written or read now."""


def unavailable(exc: BaseException) -> str | None:
    """Why a ``sqlite3`` error means the database cannot serve now, or ``None``."""
    if isinstance(exc, sqlite3.ProgrammingError) and "closed" in str(exc):
        return "the database connection is closed"
    if not isinstance(exc, sqlite3.Error):
        return None
    code = getattr(exc, "sqlite_errorcode", None)
    reason = _UNAVAILABLE.get(code & 0xFF) if isinstance(code, int) else None
    return f"{reason} ({exc})" if reason is not None else None


SQLITE = Dialect(
    name="sqlite",
    begin="BEGIN IMMEDIATE",
    transient=(sqlite3.OperationalError, sqlite3.ProgrammingError),
    unavailable=unavailable,
)


WRITER_AUTOCHECKPOINT_PAGES = 10_000
"""The writer checkpoints by itself only if the WAL reaches this many pages (40 MB with 4 KiB
pages): a backstop should the background checkpointer fall behind."""
CHECKPOINT_INTERVAL_SECONDS = 0.05
"""Least time between two background checkpoints."""

log = logging.getLogger("tidings.storage")


def _connect(path: Path, *, writer: bool) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30.0)
    conn.execute("PRAGMA busy_timeout = 30000")
    if writer:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(f"PRAGMA wal_autocheckpoint = {WRITER_AUTOCHECKPOINT_PAGES}")
    conn.execute("PRAGMA synchronous = FULL")
    if not writer:
        conn.execute("PRAGMA query_only = ON")
    return conn


class Checkpointer:
    """Copies committed WAL pages back into the database file on a thread of its own.

    SQLite's default makes the writer do it, inside the commit that crosses 1,000 WAL pages:
    every few hundred requests one commit group also copied and fsynced megabytes, and every
    request waiting behind it paid for that in latency. Here a ``PASSIVE`` checkpoint, which
    never blocks the writer or readers, runs after commits, at most every
    :data:`CHECKPOINT_INTERVAL_SECONDS`.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tidings-sqlite-ckpt", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def notify(self) -> None:
        """Called after each commit (on the writer thread): there is something to copy."""
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        conn = sqlite3.connect(str(self._path), isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA synchronous = FULL")
            while True:
                self._wake.wait()
                if self._stopping.is_set():
                    return
                self._wake.clear()
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                except sqlite3.Error as exc:  # the writer's backstop still checkpoints
                    log.warning("background checkpoint failed: %s", exc)
                if self._stopping.wait(CHECKPOINT_INTERVAL_SECONDS):
                    return
        finally:
            conn.close()


class SqliteStore(SqlStore):
    """:class:`~tidings.storage.roles.Store` on a SQLite file."""

    backend = "sqlite"
    migrations = MIGRATIONS
    open_errors = (OSError, sqlite3.Error)

    def __init__(
        self,
        engine: Engine,
        server_key: bytes,
        path: Path,
        checkpointer: Checkpointer | None = None,
    ) -> None:
        super().__init__(engine, server_key)
        self.path = path
        self._checkpointer = checkpointer

    @classmethod
    async def open(
        cls, path: Path, *, server_key: bytes, options: StoreOptions | None = None
    ) -> SqliteStore:
        """Open (creating the file if needed) and migrate."""
        opts = options or StoreOptions()
        path.parent.mkdir(parents=True, exist_ok=True)
        checkpointer = Checkpointer(path)
        engine = Engine(
            SQLITE,
            lambda: _connect(path, writer=True),
            lambda: _connect(path, writer=False),
            max_group=opts.max_group,
            read_threads=opts.read_threads,
            name="tidings-sqlite",
            after_commit=checkpointer.notify,
        )
        store = cls(engine, server_key, path, checkpointer)
        try:
            await store.migrate()
        except BaseException:
            await engine.close()
            raise
        checkpointer.start()
        return store

    async def close(self) -> None:
        await super().close()
        if self._checkpointer is not None:
            await asyncio.to_thread(self._checkpointer.stop)
