"""The on-device store a client holds: the outbox, sessions, device state and config in one file.

Durability model. ``track()`` writes the rows it recorded to this process's journal
(``journal.py``) before it returns; :meth:`DeviceStore.settle` moves them into SQLite in one
transaction before anything else reads or rewrites the outbox, and opening the store takes over
the journals of processes that died. The device state (session counters, the campaign engine's
history) that those events changed is saved by the worker within half a second, always after a
move; on the next launch the events committed after the last state save are replayed into the
state, so a crash loses neither events nor counts. Lifecycle, identity and custom-property calls
save the state in the same transaction.

The parts, by what they hold:

* ``devicedb.py``: the SQLite file (WAL, ``synchronous``), its connections, the key/value table
  and the saved device state in it;
* ``outbox.py``: events and decisions in ``seq`` order, the upload watermark, the bound on
  what is pending, the sessions the rows belong to, and the journal in front of the append path;
* this module: :class:`DeviceStore`, the store the client uses, with what saving and replaying
  the device state needs of both.
"""

from __future__ import annotations

from tidings.sdk.outbox import KIND_DECISION, KIND_EVENT, Outbox, Row

__all__ = ["KIND_DECISION", "KIND_EVENT", "DeviceStore", "Row"]


class DeviceStore(Outbox):
    """SQLite persistence for one client. Not thread-safe by itself: the client serialises calls
    (the worker's own reads go through :attr:`side_lock`)."""

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
