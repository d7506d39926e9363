"""The on-device SQLite file: its schema, its two connections, and the key/value table.

The database runs in WAL mode with ``synchronous=NORMAL``: a commit is an append to the write-ahead
log without an ``fsync``, so a *process* that dies at any point loses nothing that was committed
(the log is in the OS page cache and is replayed on the next open). What NORMAL gives up is
durability across an OS crash or power loss, where the last few commits may roll back;
``synchronous="full"`` restores that at the price of one ``fsync`` per ``track()``. Apps that run
on laptops and servers almost always prefer the first; the option exists for the others.

The key/value table holds what is one value per device: the device state and the ``seq`` it
covers, the identity, the cached config, the in-flight batch, the upload watermark, the count
of dropped events. :class:`DeviceDb` owns the file and its connections; the outbox
(``outbox.py``) holds one and works through its public surface: the main connection
(:attr:`DeviceDb.conn`), :meth:`DeviceDb.transaction`, the worker's connection
(:meth:`DeviceDb.side`, under :attr:`DeviceDb.side_lock`) and the commit count.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import orjson

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS outbox (
    seq  INTEGER PRIMARY KEY,
    kind INTEGER NOT NULL,
    sent INTEGER NOT NULL DEFAULT 0,
    session TEXT,
    body BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    id         TEXT PRIMARY KEY,
    counter    INTEGER NOT NULL,
    type       TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    ended_at   INTEGER
);
CREATE TABLE IF NOT EXISTS kv (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
"""


class DeviceDb:
    """One SQLite file: the committing connection, the worker's own, and the key/value table.

    ``check_same_thread`` is off because the caller's threads and the worker share the connection
    under the client's lock.
    """

    def __init__(self, path: Path, *, synchronous: str = "normal") -> None:
        self.path = path
        self.synchronous = synchronous
        self.conn = self._open()
        """The committing connection, used under the client's lock. Read it at each use:
        :meth:`reopen` replaces it."""
        self._checkpointer: sqlite3.Connection | None = None
        self.side_lock = threading.Lock()
        """Held while the worker uses its own connection. A fork waits for it (with the client's
        lock): a thread inside SQLite at the instant of ``fork()`` can leave SQLite's process-wide
        mutex held in the child, which would then hang on its first open."""
        self.commits = 0
        """Commits since the last :meth:`checkpoint`; each writer counts its own, and the worker
        checkpoints once there are enough."""

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(
            str(self.path), isolation_level=None, check_same_thread=False, timeout=10.0
        )
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={'FULL' if self.synchronous == 'full' else 'NORMAL'}")
        # Checkpoints copy the log into the database file; they are run by the worker on a
        # connection of its own (see :meth:`checkpoint`), never on the committing thread.
        db.execute("PRAGMA wal_autocheckpoint=0")
        db.executescript(_SCHEMA)
        return db

    def reopen(self) -> None:
        """Open fresh connections (a forked child must not use its parent's)."""
        self.side_lock = threading.Lock()
        self.conn = self._open()
        self._checkpointer = None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN`` … ``COMMIT`` on the main connection, rolled back if the body raises."""
        db = self.conn
        db.execute("BEGIN")
        try:
            yield db
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    @contextlib.contextmanager
    def side(self) -> Iterator[sqlite3.Connection]:
        """The worker's own connection: checkpoints and upload reads, without the client's lock.

        In WAL mode it reads the last committed state while ``track()`` keeps committing on the
        main connection, so building a batch never makes a caller wait. It is used only under
        :attr:`side_lock`, which a fork waits for.
        """
        with self.side_lock:
            if self._checkpointer is None:
                self._checkpointer = sqlite3.connect(
                    str(self.path), isolation_level=None, check_same_thread=False, timeout=10.0
                )
            yield self._checkpointer

    def checkpoint(self) -> None:
        """Fold the write-ahead log into the database without blocking writers (worker only)."""
        with self.side() as db:
            db.execute("PRAGMA wal_checkpoint(PASSIVE)")
        self.commits = 0

    def close(self) -> None:
        """Close both connections, folding the log into the file when no one else is writing."""
        with self.side_lock:
            if self._checkpointer is not None:
                self._checkpointer.close()
                self._checkpointer = None
        with contextlib.suppress(sqlite3.OperationalError):  # busy: a later open checkpoints
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.conn.close()

    # --- the device state ----------------------------------------------------------------------

    def put_state(self, state: bytes) -> None:
        """Write the state with the ``seq`` it covers (the newest outbox row), inside the
        caller's transaction."""
        db = self.conn
        db.execute("INSERT OR REPLACE INTO kv (key, value) VALUES ('state', ?)", (state,))
        db.execute(
            "INSERT OR REPLACE INTO kv (key, value) VALUES ('stateSeq', coalesce((SELECT max(seq)"
            " FROM outbox), 0))"
        )

    def saved_state(self) -> tuple[bytes | None, int]:
        """The saved device state and the ``seq`` it covers, read together (one statement, so
        one snapshot): another process on the same directory may save a newer pair at any
        moment, and a state read with a later pair's ``seq`` would skip events it never saw."""
        rows = dict(
            self.conn.execute("SELECT key, value FROM kv WHERE key IN ('state', 'stateSeq')")
        )
        seq = rows.get("stateSeq")
        state = rows.get("state")
        return (None if state is None else bytes(state)), int(seq) if seq is not None else 0

    # --- key/value -----------------------------------------------------------------------------

    def get(self, key: str) -> bytes | None:
        row = self.conn.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        value = row[0]
        return value if isinstance(value, bytes) else str(value).encode()

    def get_json(self, key: str) -> Any:
        raw = self.get(key)
        return None if raw is None else orjson.loads(raw)

    def put(self, key: str, value: bytes) -> None:
        self.conn.execute("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)", (key, value))

    def put_json(self, key: str, value: Any) -> None:
        self.put(key, orjson.dumps(value))

    def delete(self, key: str) -> None:
        self.conn.execute("DELETE FROM kv WHERE key = ?", (key,))

    def add_int(self, key: str, delta: int) -> None:
        """Add ``delta`` to an integer value (a missing key counts as 0), in one statement."""
        self.conn.execute(
            "INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET"
            " value = CAST(value AS INTEGER) + excluded.value",
            (key, delta),
        )
