"""The on-device store: one SQLite file holding the outbox, sessions, device state and config.

Durability model. ``track()`` writes the rows it recorded to this process's journal
(``journal.py``) before it returns; :meth:`DeviceStore.settle` moves them into SQLite in one
transaction before anything else reads or rewrites the outbox, and :meth:`DeviceStore.__init__`
takes over the journals of processes that died. The device state (session counters, the
campaign engine's history) that those events changed is saved by the worker within half a
second, always after a move; on the next launch the events committed after the last state save
are replayed into the state, so a crash loses neither events nor counts.
Lifecycle, identity and custom-property calls save the state in the same transaction.

The database runs in WAL mode with ``synchronous=NORMAL``: a commit is an append to the write-ahead
log without an ``fsync``, so a *process* that dies at any point loses nothing that was committed
(the log is in the OS page cache and is replayed on the next open). What NORMAL gives up is
durability across an OS crash or power loss, where the last few commits may roll back;
``synchronous="full"`` restores that at the price of one ``fsync`` per ``track()``. Apps that run
on laptops and servers almost always prefer the first; the option exists for the others.

The outbox holds events and decisions in ``seq`` order. Batches always take the oldest pending
rows, so what the server has is one watermark, ``sentUpTo`` in ``kv``: rows at or below it are
sent, rows above it pending. An accepted batch moves the watermark (one small write) instead of
rewriting its rows, which keeps the worker's transactions, and so the time ``track()`` may wait
for the shared connection, short. Sent rows stay, trimmed to the newest
:attr:`DeviceStore.keep_recent`, so ``get_recent_events`` reads the same table. (The ``sent`` column
is what databases written before the watermark used; such a file is read as it was.)

The pending part is bounded: past ``max_pending`` the oldest pending rows that are not part of the
in-flight batch are deleted and counted in ``dropped``, which the next upload reports.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Final

import orjson

from tidings.sdk import journal as wal
from tidings.sdk.journal import Journal

KIND_EVENT: Final = 0
KIND_DECISION: Final = 1

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

Row = tuple[int, int, bytes]
"""``(seq, kind, body)`` of one outbox row."""

_NOT_NEWEST: Final = "seq < (SELECT max(seq) FROM outbox)"
"""Guard for every DELETE: the newest row stays, so SQLite never hands out its ``seq`` again.

``seq`` is a plain rowid (``max + 1`` on insert): no ``AUTOINCREMENT``, whose extra page write per
commit costs a quarter of ``track()``. A reused ``seq`` would hide a new event behind the saved
``stateSeq`` of the device state; never deleting the row holding the maximum rules that out.
Older files keep their ``AUTOINCREMENT`` table and work the same.
"""


def _insert_sql(n: int) -> str:
    """One multi-row INSERT: a single statement is its own transaction (no BEGIN/COMMIT calls)."""
    return "INSERT INTO outbox (kind, session, body) VALUES " + ",".join(["(?, ?, ?)"] * n)


_INSERTS: Final = tuple(_insert_sql(n) for n in range(9))


class DeviceStore:
    """SQLite persistence for one client. Not thread-safe by itself: the client serialises calls.

    ``check_same_thread`` is off because the caller's threads and the worker share the connection
    under the client's lock.
    """

    def __init__(
        self,
        path: Path,
        *,
        max_pending: int = 10_000,
        keep_recent: int = 1_000,
        synchronous: str = "normal",
        journal: bool = True,
    ) -> None:
        self.path = path
        self.max_pending = max_pending
        self.keep_recent = keep_recent
        self.synchronous = synchronous
        self._db = self._open()
        self._checkpointer: sqlite3.Connection | None = None
        self.side_lock = threading.Lock()
        """Held while the worker uses its own connection. A fork waits for it (with the client's
        lock): a thread inside SQLite at the instant of ``fork()`` can leave SQLite's process-wide
        mutex held in the child, which would then hang on its first open."""
        self.commits = 0
        self.inflight_max_seq = 0
        # The journal stands in for the commit only where a commit is a write to the OS anyway;
        # ``synchronous="full"`` promises an fsync per call, which the journal would not give.
        self._use_journal = journal and wal.AVAILABLE and synchronous != "full"
        self._journal: Journal | None = None
        self._staged: list[tuple[int, str | None, bytes]] = []
        self._open_journal()
        self._load_counts()

    # --- the journal (see journal.py) ------------------------------------------------------------

    def _open_journal(self) -> None:
        """Take over the journals of dead processes, then start this process's own."""
        if not self._use_journal:
            return
        directory = self.path.parent
        for name, data, fd in wal.orphans(directory, None):
            try:
                self._recover(name, data)
                with contextlib.suppress(OSError):
                    (directory / name).unlink()
                self._db.execute("DELETE FROM kv WHERE key = ?", (f"journal:{name}",))
            finally:
                os.close(fd)
        # Marks of journals deleted after their rows were moved (the delete of the mark is last).
        live = {p.name for p in directory.glob(f"{wal.PREFIX}*{wal.SUFFIX}")}
        for (key,) in self._db.execute("SELECT key FROM kv WHERE key LIKE 'journal:%'").fetchall():
            if str(key).removeprefix("journal:") not in live:
                self._db.execute("DELETE FROM kv WHERE key = ?", (key,))
        self._journal = Journal(directory)

    def _recover(self, name: str, data: bytes) -> None:
        """Move a dead process's journal records that SQLite does not have yet."""
        raw = self.get(f"journal:{name}")
        done = int(raw) if raw is not None else 0
        rows = [row for gen, batch in wal.decode(data) if gen > done for row in batch]
        if rows:
            self._move(rows, name, 1 << 62)

    def _move(self, rows: Sequence[tuple[int, str | None, bytes]], name: str, gen: int) -> None:
        db = self._db
        db.execute("BEGIN")
        try:
            db.executemany("INSERT INTO outbox (kind, session, body) VALUES (?, ?, ?)", rows)
            db.execute(
                "INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)", (f"journal:{name}", gen)
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self.commits += 1

    def settle(self) -> None:
        """Move the journaled rows into SQLite (with the client's lock held), empty the journal.

        Every reader or writer of the outbox other than the append path of ``track()`` calls this
        first, so SQLite order (``seq``) is call order and the device state saved after it covers
        exactly the rows SQLite has.
        """
        staged = self._staged
        if not staged:
            return
        journal = self._journal
        assert journal is not None
        self._move(staged, journal.name, journal.generation)
        self._staged = []
        journal.truncate()

    @property
    def staged(self) -> int:
        """Rows in the journal not yet moved into SQLite."""
        return len(self._staged)

    def _load_counts(self) -> None:
        self.sent_upto = self._load_watermark()
        self.pending = self._count_pending()
        self.sent_rows = self._count_sent()

    def _load_watermark(self) -> int:
        raw = self.get("sentUpTo")
        if raw is not None:
            return int(raw)
        # No watermark yet: nothing was sent by this version; a legacy file marks rows instead.
        row = self._db.execute(
            "SELECT (SELECT min(seq) FROM outbox WHERE sent = 0),"
            " (SELECT max(seq) FROM outbox WHERE sent = 1)"
        ).fetchone()
        first_pending, last_sent = row
        if first_pending is not None:
            return int(first_pending) - 1
        return int(last_sent or 0)

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
        self._db = self._open()
        self._checkpointer = None
        # The parent's journal and its staged rows stay the parent's: it moves them itself.
        if self._journal is not None:
            self._journal.abandon()
            self._journal = None
        self._staged = []
        self._open_journal()
        self._load_counts()

    @contextlib.contextmanager
    def _side(self) -> Iterator[sqlite3.Connection]:
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
        with self._side() as db:
            db.execute("PRAGMA wal_checkpoint(PASSIVE)")
        self.commits = 0

    def close(self) -> None:
        self.settle()
        if self._journal is not None:
            self._journal.remove()  # then its mark, which the next open also cleans up
            self._db.execute("DELETE FROM kv WHERE key = ?", (f"journal:{self._journal.name}",))
            self._journal = None
        with self.side_lock:
            if self._checkpointer is not None:
                self._checkpointer.close()
                self._checkpointer = None
        with contextlib.suppress(sqlite3.OperationalError):  # busy: a later open checkpoints
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._db.close()

    def _count_sent(self) -> int:
        row = self._db.execute(
            "SELECT count(*) FROM outbox WHERE seq <= ?", (self.sent_upto,)
        ).fetchone()
        return int(row[0])

    def _count_pending(self) -> int:
        row = self._db.execute(
            "SELECT count(*) FROM outbox WHERE seq > ?", (self.sent_upto,)
        ).fetchone()
        return int(row[0])

    # --- the write path of track() ------------------------------------------------------------

    def append(
        self,
        rows: Sequence[tuple[int, str | None, bytes]],
        *,
        state: bytes | None = None,
        sessions_started: Sequence[tuple[str, int, str, int]] = (),
        sessions_ended: Sequence[tuple[str, int]] = (),
    ) -> int:
        """Commit outbox rows, session changes and the device state in one transaction.

        Returns how many pending rows were dropped to stay within ``max_pending``.
        """
        db = self._db
        n = len(rows)
        if (
            state is None
            and not sessions_started
            and not sessions_ended
            and 0 < n < len(_INSERTS)
            and self.pending + n <= self.max_pending
        ):
            # The path of track(): one journal write, or one INSERT committed on its own.
            journal = self._journal
            if journal is not None:
                journal.write(rows)
                self._staged.extend(rows)
            else:
                db.execute(_INSERTS[n], [v for row in rows for v in row])
                self.commits += 1
            self.pending += n
            return 0
        self.settle()
        db.execute("BEGIN")
        try:
            if rows:
                db.executemany("INSERT INTO outbox (kind, session, body) VALUES (?, ?, ?)", rows)
            for sid, counter, kind, started in sessions_started:
                db.execute(
                    "INSERT OR REPLACE INTO sessions (id, counter, type, started_at, ended_at)"
                    " VALUES (?, ?, ?, ?, NULL)",
                    (sid, counter, kind, started),
                )
            for sid, ended in sessions_ended:
                db.execute("UPDATE sessions SET ended_at = ? WHERE id = ?", (ended, sid))
            if state is not None:
                self._put_state(state)
            dropped = 0
            excess = self.pending + len(rows) - self.max_pending
            if excess > 0:
                dropped = self._drop_oldest(excess)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self.commits += 1
        self.pending += len(rows) - dropped
        return dropped

    def _put_state(self, state: bytes) -> None:
        db = self._db
        db.execute("INSERT OR REPLACE INTO kv (key, value) VALUES ('state', ?)", (state,))
        db.execute(
            "INSERT OR REPLACE INTO kv (key, value) VALUES ('stateSeq', coalesce((SELECT max(seq)"
            " FROM outbox), 0))"
        )

    def save_state(self, state: bytes) -> None:
        """Save the device state alone; it covers every outbox row committed so far."""
        self.settle()
        db = self._db
        db.execute("BEGIN")
        try:
            self._put_state(state)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def saved_state(self) -> tuple[bytes | None, int]:
        """The saved device state and the ``seq`` it covers, read together (one statement, so
        one snapshot): another process on the same directory may save a newer pair at any
        moment, and a state read with a later pair's ``seq`` would skip events it never saw."""
        rows = dict(
            self._db.execute("SELECT key, value FROM kv WHERE key IN ('state', 'stateSeq')")
        )
        seq = rows.get("stateSeq")
        state = rows.get("state")
        return (None if state is None else bytes(state)), int(seq) if seq is not None else 0

    def events_after_state(self, since: int | None = None) -> list[bytes]:
        """Events committed after the last state save (``track`` defers state saves), or after
        ``since`` (the ``seq`` of the state in hand, from :meth:`saved_state`)."""
        self.settle()
        if since is None:
            raw = self.get("stateSeq")
            since = int(raw) if raw is not None else 0
        cur = self._db.execute(
            "SELECT body FROM outbox WHERE kind = ? AND seq > ? ORDER BY seq", (KIND_EVENT, since)
        )
        return [bytes(b) for (b,) in cur]

    def _drop_oldest(self, n: int) -> int:
        db = self._db
        cur = db.execute(
            "DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox WHERE seq > ?"
            f" AND {_NOT_NEWEST} ORDER BY seq LIMIT ?)",
            (max(self.sent_upto, self.inflight_max_seq), n),
        )
        dropped = cur.rowcount
        if dropped > 0:
            self._add_kv_int("dropped", dropped)
        return dropped

    def add_dropped(self, n: int) -> None:
        self._add_kv_int("dropped", n)

    def _add_kv_int(self, key: str, delta: int) -> None:
        self._db.execute(
            "INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET"
            " value = CAST(value AS INTEGER) + excluded.value",
            (key, delta),
        )

    # --- uploads -------------------------------------------------------------------------------

    def pending_rows(self, limit: int, upto: int | None = None) -> list[Row]:
        """The oldest pending rows (all of them up to ``upto`` when given).

        Read on the worker's connection; callable without the client's lock (only the worker
        moves the watermark).
        """
        with self._side() as db:
            if upto is not None:
                cur = db.execute(
                    "SELECT seq, kind, body FROM outbox WHERE seq > ? AND seq <= ? ORDER BY seq",
                    (self.sent_upto, upto),
                )
            else:
                cur = db.execute(
                    "SELECT seq, kind, body FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?",
                    (self.sent_upto, limit),
                )
            return [(int(s), int(k), bytes(b)) for s, k, b in cur]

    def newest_pending_seq(self) -> int | None:
        self.settle()
        row = self._db.execute(
            "SELECT max(seq) FROM outbox WHERE seq > ?", (self.sent_upto,)
        ).fetchone()
        return None if row[0] is None else int(row[0])

    def oldest_pending_seq(self) -> int | None:
        self.settle()
        row = self._db.execute(
            "SELECT min(seq) FROM outbox WHERE seq > ?", (self.sent_upto,)
        ).fetchone()
        return None if row[0] is None else int(row[0])

    def mark_sent(self, min_seq: int, max_seq: int, dropped_reported: int) -> None:
        """The batch ``min_seq..max_seq`` is stored by the server: move the watermark to it.

        Batches always take the oldest pending rows, so every row up to ``max_seq`` is sent
        afterwards. Sent rows are trimmed in bulk once there are twice as many as
        ``keep_recent`` (sent decisions go with them; they are only kept until then).
        """
        self.settle()
        db = self._db
        low = max(self.sent_upto, min_seq - 1)
        db.execute("BEGIN")
        try:
            (done,) = db.execute(
                "SELECT count(*) FROM outbox WHERE seq > ? AND seq <= ?", (low, max_seq)
            ).fetchone()
            self._set_watermark(max_seq)
            if self.sent_rows + done > 2 * self.keep_recent:
                cur = db.execute(
                    "DELETE FROM outbox WHERE seq < (SELECT seq FROM outbox WHERE seq <= ?"
                    " ORDER BY seq DESC LIMIT 1 OFFSET ?)",
                    (max_seq, self.keep_recent - 1),
                )
                trimmed = cur.rowcount
            else:
                trimmed = 0
            if dropped_reported:
                self._add_kv_int("dropped", -dropped_reported)
            db.execute("DELETE FROM kv WHERE key = 'inflight'")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self.sent_upto = max(self.sent_upto, max_seq)
        self.sent_rows += int(done) - trimmed
        self.pending = max(0, self.pending - int(done))
        self.inflight_max_seq = 0

    def _set_watermark(self, seq: int) -> None:
        # Never backwards: a forked sibling process may have moved it further already.
        self._db.execute(
            "INSERT INTO kv (key, value) VALUES ('sentUpTo', ?) ON CONFLICT(key) DO UPDATE SET"
            " value = max(CAST(value AS INTEGER), excluded.value)",
            (seq,),
        )

    def discard_rows(self, seqs: Sequence[int]) -> None:
        """Give up rows the server can never take (an item too large for any request).

        They are the oldest pending rows: the watermark moves past them and they are deleted
        (except the newest row of the table, see ``_NOT_NEWEST``).
        """
        self.settle()
        db = self._db
        db.execute("BEGIN")
        try:
            db.executemany(
                f"DELETE FROM outbox WHERE seq = ? AND {_NOT_NEWEST}", [(s,) for s in seqs]
            )
            if seqs:
                self._set_watermark(max(seqs))
            db.execute("DELETE FROM kv WHERE key = 'inflight'")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        if seqs:
            self.sent_upto = max(self.sent_upto, *seqs)
        self.pending = self._count_pending()
        self.sent_rows = self._count_sent()
        self.inflight_max_seq = 0

    def sessions_of_pending(self, upto: int) -> list[dict[str, Any]]:
        """The sessions the pending rows up to ``upto`` belong to (worker's connection)."""
        with self._side() as db:
            rows = db.execute(
                "SELECT id, counter, type, started_at, ended_at FROM sessions WHERE id IN"
                " (SELECT DISTINCT session FROM outbox WHERE seq > ? AND seq <= ?)"
                " ORDER BY counter",
                (self.sent_upto, upto),
            ).fetchall()
        return [
            {"id": r[0], "counter": r[1], "type": r[2], "startedAt": r[3], "endedAt": r[4]}
            for r in rows
        ]

    def recent_events(self, limit: int) -> list[bytes]:
        self.settle()
        cur = self._db.execute(
            "SELECT body FROM outbox WHERE kind = ? ORDER BY seq DESC LIMIT ?",
            (KIND_EVENT, limit),
        )
        return [bytes(b) for (b,) in cur]

    # --- key/value -----------------------------------------------------------------------------

    def get(self, key: str) -> bytes | None:
        row = self._db.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        value = row[0]
        return value if isinstance(value, bytes) else str(value).encode()

    def get_json(self, key: str) -> Any:
        raw = self.get(key)
        return None if raw is None else orjson.loads(raw)

    def put(self, key: str, value: bytes) -> None:
        self._db.execute("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)", (key, value))

    def put_json(self, key: str, value: Any) -> None:
        self.put(key, orjson.dumps(value))

    def delete(self, key: str) -> None:
        self._db.execute("DELETE FROM kv WHERE key = ?", (key,))

    def dropped(self) -> int:
        raw = self.get("dropped")
        return 0 if raw is None else max(0, int(raw))
