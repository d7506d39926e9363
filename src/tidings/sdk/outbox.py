"""The outbox: events and decisions waiting for upload, the sessions they belong to, the journal.

The outbox holds events and decisions in ``seq`` order. Batches always take the oldest pending
rows, so what the server has is one watermark, ``sentUpTo`` in ``kv``: rows at or below it are
sent, rows above it pending. An accepted batch moves the watermark (one small write) instead of
rewriting its rows, which keeps the worker's transactions, and so the time ``track()`` may wait
for the shared connection, short. Sent rows stay, trimmed to the newest
:attr:`Outbox.keep_recent`, so ``get_recent_events`` reads the same table. (The ``sent`` column
is what databases written before the watermark used; such a file is read as it was.)

The pending part is bounded: past ``max_pending`` the oldest pending rows that are not part of the
in-flight batch are deleted and counted in ``dropped``, which the next upload reports.

:class:`Outbox` holds the :class:`~tidings.sdk.devicedb.DeviceDb` of its file (it does not own it:
the store opens, reopens and closes the file) and uses only its public surface.

``track()`` appends to this process's journal (``journal.py``) instead of committing;
:meth:`Outbox.settle` moves the journaled rows into SQLite before anything else reads or
rewrites the outbox, and opening the outbox takes over the journals of processes that died.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from typing import Any, Final

from tidings.sdk import journal as wal
from tidings.sdk.devicedb import DeviceDb
from tidings.sdk.journal import Journal

KIND_EVENT: Final = 0
KIND_DECISION: Final = 1

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


class Outbox:
    """The outbox of one SQLite file, with the journal in front of its append path."""

    def __init__(
        self,
        db: DeviceDb,
        *,
        max_pending: int = 10_000,
        keep_recent: int = 1_000,
        journal: bool = True,
    ) -> None:
        self.db = db
        self.max_pending = max_pending
        self.keep_recent = keep_recent
        self.inflight_max_seq = 0
        # The journal stands in for the commit only where a commit is a write to the OS anyway;
        # ``synchronous="full"`` promises an fsync per call, which the journal would not give.
        self._use_journal = journal and wal.AVAILABLE and db.synchronous != "full"
        self._journal: Journal | None = None
        self._staged: list[tuple[int, str | None, bytes]] = []
        self._open_journal()
        self._load_counts()

    # --- the journal (see journal.py) ------------------------------------------------------------

    def _open_journal(self) -> None:
        """Take over the journals of dead processes, then start this process's own."""
        if not self._use_journal:
            return
        db = self.db
        directory = db.path.parent
        for name, data, fd in wal.orphans(directory, None):
            try:
                self._recover(name, data)
                with contextlib.suppress(OSError):
                    (directory / name).unlink()
                db.delete(f"journal:{name}")
            finally:
                os.close(fd)
        # Marks of journals deleted after their rows were moved (the delete of the mark is last).
        live = {p.name for p in directory.glob(f"{wal.PREFIX}*{wal.SUFFIX}")}
        for (key,) in db.conn.execute("SELECT key FROM kv WHERE key LIKE 'journal:%'").fetchall():
            if str(key).removeprefix("journal:") not in live:
                db.delete(key)
        self._journal = Journal(directory)

    def _recover(self, name: str, data: bytes) -> None:
        """Move a dead process's journal records that SQLite does not have yet."""
        raw = self.db.get(f"journal:{name}")
        done = int(raw) if raw is not None else 0
        rows = [row for gen, batch in wal.decode(data) if gen > done for row in batch]
        if rows:
            self._move(rows, name, 1 << 62)

    def _move(self, rows: Sequence[tuple[int, str | None, bytes]], name: str, gen: int) -> None:
        with self.db.transaction() as db:
            db.executemany("INSERT INTO outbox (kind, session, body) VALUES (?, ?, ?)", rows)
            db.execute(
                "INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)", (f"journal:{name}", gen)
            )
        self.db.commits += 1

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
        raw = self.db.get("sentUpTo")
        if raw is not None:
            return int(raw)
        # No watermark yet: nothing was sent by this version; a legacy file marks rows instead.
        row = self.db.conn.execute(
            "SELECT (SELECT min(seq) FROM outbox WHERE sent = 0),"
            " (SELECT max(seq) FROM outbox WHERE sent = 1)"
        ).fetchone()
        first_pending, last_sent = row
        if first_pending is not None:
            return int(first_pending) - 1
        return int(last_sent or 0)

    def reopen(self) -> None:
        """Start over on the file's fresh connections (after ``DeviceDb.reopen()`` in a forked
        child, which must not use its parent's)."""
        # The parent's journal and its staged rows stay the parent's: it moves them itself.
        if self._journal is not None:
            self._journal.abandon()
            self._journal = None
        self._staged = []
        self._open_journal()
        self._load_counts()

    def close(self) -> None:
        """Move what is journaled into SQLite and remove this process's journal (the file
        stays open: its owner closes it)."""
        self.settle()
        if self._journal is not None:
            self._journal.remove()  # then its mark, which the next open also cleans up
            self.db.delete(f"journal:{self._journal.name}")
            self._journal = None

    def _count_sent(self) -> int:
        row = self.db.conn.execute(
            "SELECT count(*) FROM outbox WHERE seq <= ?", (self.sent_upto,)
        ).fetchone()
        return int(row[0])

    def _count_pending(self) -> int:
        row = self.db.conn.execute(
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
                self.db.conn.execute(_INSERTS[n], [v for row in rows for v in row])
                self.db.commits += 1
            self.pending += n
            return 0
        self.settle()
        with self.db.transaction() as db:
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
                self.db.put_state(state)
            dropped = 0
            excess = self.pending + len(rows) - self.max_pending
            if excess > 0:
                dropped = self._drop_oldest(excess)
        self.db.commits += 1
        self.pending += len(rows) - dropped
        return dropped

    def _drop_oldest(self, n: int) -> int:
        cur = self.db.conn.execute(
            "DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox WHERE seq > ?"
            f" AND {_NOT_NEWEST} ORDER BY seq LIMIT ?)",
            (max(self.sent_upto, self.inflight_max_seq), n),
        )
        dropped = cur.rowcount
        if dropped > 0:
            self.add_dropped(dropped)
        return dropped

    def add_dropped(self, n: int) -> None:
        """Count ``n`` more events given up (reported by the next upload)."""
        self.db.add_int("dropped", n)

    def dropped(self) -> int:
        """Events given up and not reported yet."""
        raw = self.db.get("dropped")
        return 0 if raw is None else max(0, int(raw))

    # --- uploads -------------------------------------------------------------------------------

    def pending_rows(self, limit: int, upto: int | None = None) -> list[Row]:
        """The oldest pending rows (all of them up to ``upto`` when given).

        Read on the worker's connection; callable without the client's lock (only the worker
        moves the watermark).
        """
        with self.db.side() as db:
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
        row = self.db.conn.execute(
            "SELECT max(seq) FROM outbox WHERE seq > ?", (self.sent_upto,)
        ).fetchone()
        return None if row[0] is None else int(row[0])

    def oldest_pending_seq(self) -> int | None:
        self.settle()
        row = self.db.conn.execute(
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
        low = max(self.sent_upto, min_seq - 1)
        with self.db.transaction() as db:
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
                self.add_dropped(-dropped_reported)
            db.execute("DELETE FROM kv WHERE key = 'inflight'")
        self.sent_upto = max(self.sent_upto, max_seq)
        self.sent_rows += int(done) - trimmed
        self.pending = max(0, self.pending - int(done))
        self.inflight_max_seq = 0

    def _set_watermark(self, seq: int) -> None:
        # Never backwards: a forked sibling process may have moved it further already.
        self.db.conn.execute(
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
        with self.db.transaction() as db:
            db.executemany(
                f"DELETE FROM outbox WHERE seq = ? AND {_NOT_NEWEST}", [(s,) for s in seqs]
            )
            if seqs:
                self._set_watermark(max(seqs))
            db.execute("DELETE FROM kv WHERE key = 'inflight'")
        if seqs:
            self.sent_upto = max(self.sent_upto, *seqs)
        self.pending = self._count_pending()
        self.sent_rows = self._count_sent()
        self.inflight_max_seq = 0

    def sessions_of_pending(self, upto: int) -> list[dict[str, Any]]:
        """The sessions the pending rows up to ``upto`` belong to (worker's connection)."""
        with self.db.side() as db:
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
        cur = self.db.conn.execute(
            "SELECT body FROM outbox WHERE kind = ? ORDER BY seq DESC LIMIT ?",
            (KIND_EVENT, limit),
        )
        return [bytes(b) for (b,) in cur]

    def events_after(self, seq: int) -> list[bytes]:
        """The events committed after ``seq``, oldest first (what a device state saved at
        ``seq`` has not seen)."""
        self.settle()
        cur = self.db.conn.execute(
            "SELECT body FROM outbox WHERE kind = ? AND seq > ? ORDER BY seq", (KIND_EVENT, seq)
        )
        return [bytes(b) for (b,) in cur]
