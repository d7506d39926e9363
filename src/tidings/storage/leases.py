"""Leases for the SQL backends: at most one process works on a named thing at a time.

Several ``tidings serve`` / ``tidings worker`` processes may share one database. Each consumer
cursor must be advanced by one of them at a time, or two processes would deliver the same batch
concurrently and race each other's commits. A lease is a row ``(name, holder, expires_at)``:

* ``acquire_lease`` takes a free or expired lease, or renews one the caller already holds, in
  one write transaction (the store's single writer serialises it on SQLite; on PostgreSQL the
  row lock of the upsert does), so two processes can never both believe they hold it.
* ``commit_cursor_leased`` moves a cursor only while the caller still holds the lease, in the
  same transaction as the check. A process that stalled past its lease (a long GC pause, a
  suspended VM) and lost it to another one cannot move the cursor backwards or forwards behind
  the new holder's back: its late commit is refused and it simply stops.

A table rather than PostgreSQL advisory locks, because the store's connections are pooled
(a session lock would belong to whichever reader thread took it) and because the same code then
also protects several processes sharing one SQLite file.
"""

from __future__ import annotations

from tidings.storage.clock import now_ms
from tidings.storage.deliveryrecords import Lease
from tidings.storage.engine import Engine, Tx


def _holds(tx: Tx, name: str, holder: str, at_ms: int) -> bool:
    row = tx.one("SELECT holder, expires_at FROM leases WHERE name = ?", (name,))
    return row is not None and row[0] == holder and int(row[1]) > at_ms


class LeasesMixin:
    """The lease role of ``SqlStore`` (table ``leases (name, holder, expires_at)``)."""

    _engine: Engine

    async def acquire_lease(self, name: str, holder: str, ttl_ms: int) -> bool:
        at = now_ms()

        def run(tx: Tx) -> bool:
            tx.execute(
                "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,"
                " expires_at = excluded.expires_at"
                " WHERE leases.holder = excluded.holder OR leases.expires_at <= ?",
                (name, holder, at + ttl_ms, at),
            )
            return _holds(tx, name, holder, at)

        return await self._engine.write(run)

    async def release_lease(self, name: str, holder: str) -> None:
        def run(tx: Tx) -> None:
            tx.execute("DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder))

        await self._engine.write(run)

    async def commit_cursor_leased(self, cursor: str, seq: int, holder: str) -> bool:
        at = now_ms()

        def run(tx: Tx) -> bool:
            if not _holds(tx, cursor, holder, at):
                return False
            tx.execute(
                "INSERT INTO cursors (name, seq, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET seq = excluded.seq,"
                " updated_at = excluded.updated_at WHERE cursors.seq < excluded.seq",
                (cursor, seq, at),
            )
            return True

        return await self._engine.write(run)

    async def list_leases(self) -> list[Lease]:
        rows = await self._engine.read(
            lambda tx: tx.all("SELECT name, holder, expires_at FROM leases ORDER BY name")
        )
        return [Lease(str(r[0]), str(r[1]), int(r[2])) for r in rows]
