"""The on-device store a client holds: the outbox, sessions, device state and config in one file.

Durability model. ``track()`` writes the rows it recorded to this process's journal
(``journal.py``) before it returns; :meth:`DeviceStore.settle` moves them into SQLite in one
transaction before anything else reads or rewrites the outbox, and opening the store takes over
the journals of processes that died. The device state (session counters, the campaign engine's
history) that those events changed is saved by the worker within half a second, always after a
move; on the next launch the events committed after the last state save are replayed into the
state, so a crash loses neither events nor counts. Lifecycle, identity and custom-property calls
save the state in the same transaction.

The parts, by what they hold, composed (neither inherits the other):

* ``devicedb.py``: :class:`~tidings.sdk.devicedb.DeviceDb`, the SQLite file (WAL,
  ``synchronous``), its connections, the key/value table and the saved device state in it;
* ``outbox.py``: :class:`~tidings.sdk.outbox.Outbox`, which holds the ``DeviceDb``: events and
  decisions in ``seq`` order, the upload watermark, the bound on what is pending and the count
  of what it dropped, the sessions the rows belong to, and the journal in front of the append
  path;
* this module: :class:`DeviceStore`, the store the client holds: it opens both, saves and
  replays the device state (which needs both), and reopens and closes them in order. Callers
  reach a part directly (``store.outbox.append(...)``, ``store.db.get_json(...)``), so every call
  names what it works on.
"""

from __future__ import annotations

from pathlib import Path

from tidings.sdk.devicedb import DeviceDb
from tidings.sdk.outbox import KIND_DECISION, KIND_EVENT, Outbox, Row

__all__ = ["KIND_DECISION", "KIND_EVENT", "DeviceStore", "Row"]


class DeviceStore:
    """SQLite persistence for one client. Not thread-safe by itself: the client serialises calls
    (the worker's own reads go through the file's ``side_lock``)."""

    def __init__(
        self,
        path: Path,
        *,
        max_pending: int = 10_000,
        keep_recent: int = 1_000,
        synchronous: str = "normal",
        journal: bool = True,
    ) -> None:
        self.db = DeviceDb(path, synchronous=synchronous)
        self.outbox = Outbox(
            self.db, max_pending=max_pending, keep_recent=keep_recent, journal=journal
        )

    def save_state(self, state: bytes) -> None:
        """Save the device state alone; it covers every outbox row committed so far."""
        self.outbox.settle()
        with self.db.transaction():
            self.db.put_state(state)

    def events_after_state(self, since: int | None = None) -> list[bytes]:
        """Events committed after the last state save (``track`` defers state saves), or after
        ``since`` (the ``seq`` of the state in hand, from ``db.saved_state()``)."""
        if since is None:
            raw = self.db.get("stateSeq")
            since = int(raw) if raw is not None else 0
        return self.outbox.events_after(since)

    def reopen(self) -> None:
        """Open fresh connections (a forked child must not use its parent's), then restart the
        outbox on them."""
        self.db.reopen()
        self.outbox.reopen()

    def close(self) -> None:
        """Move the journal into SQLite, then close the file."""
        self.outbox.close()
        self.db.close()
