"""The on-device store's sequence and watermark rules, and files written by the older layout."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sdk_helpers import settled

from tidings.sdk.store import KIND_DECISION, KIND_EVENT, DeviceStore


def rows(*names: str) -> list[tuple[int, str | None, bytes]]:
    return [(KIND_EVENT, "s1", b'{"name":"%s"}' % n.encode()) for n in names]


def test_a_new_row_after_a_trim_is_never_hidden_behind_the_saved_state(tmp_path: Path) -> None:
    """Rows are deleted (trimmed, sent decisions) but the newest stays, so seq is never reused."""
    store = DeviceStore(tmp_path / "s.sqlite3", keep_recent=1)
    store.outbox.append([*rows("a", "b"), (KIND_DECISION, None, b'{"d":1}')])
    store.save_state(b"{}")  # covers every row so far
    batch = settled(store).pending_rows(10)
    store.outbox.mark_sent(batch[0][0], batch[-1][0], 0)
    store.outbox.mark_sent(batch[0][0], batch[-1][0], 0)  # a repeated answer changes nothing
    assert store.outbox.pending == 0
    store.outbox.append(rows("c"))
    assert store.events_after_state() == [b'{"name":"c"}']
    store.close()
    reopened = DeviceStore(tmp_path / "s.sqlite3", keep_recent=1)
    assert reopened.events_after_state() == [b'{"name":"c"}']
    assert [body for _, _, body in settled(reopened).pending_rows(10)] == [b'{"name":"c"}']
    reopened.close()


def test_a_file_from_the_sent_flag_layout_keeps_its_queue(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(
        """
        CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind INTEGER NOT NULL,
            sent INTEGER NOT NULL DEFAULT 0, session TEXT, body BLOB NOT NULL);
        CREATE TABLE kv (key TEXT PRIMARY KEY, value BLOB NOT NULL);
        """
    )
    for i in range(5):
        db.execute(
            "INSERT INTO outbox (kind, sent, session, body) VALUES (0, ?, 's', ?)",
            (1 if i < 3 else 0, b"%d" % i),
        )
    db.execute("DELETE FROM outbox WHERE seq = 5")  # the old layout could free the top seq
    db.commit()
    db.close()
    store = DeviceStore(path)
    assert store.outbox.pending == 1
    assert [body for _, _, body in settled(store).pending_rows(10)] == [b"3"]
    store.outbox.append(rows("new"))
    pending = settled(store).pending_rows(10)
    assert [seq for seq, _, _ in pending] == [4, 6]  # AUTOINCREMENT still never reuses 5
    store.outbox.mark_sent(pending[0][0], pending[-1][0], 0)
    assert store.outbox.pending == 0
    store.close()
    assert DeviceStore(path).outbox.pending == 0


def test_an_empty_store_has_nothing_pending_and_sends_in_order(tmp_path: Path) -> None:
    store = DeviceStore(tmp_path / "s.sqlite3")
    assert store.outbox.pending == 0 and settled(store).pending_rows(10) == []
    store.outbox.append(rows("a", "b", "c"))
    first = settled(store).pending_rows(2)
    store.outbox.mark_sent(first[0][0], first[-1][0], 0)
    assert [body for _, _, body in settled(store).pending_rows(10)] == [b'{"name":"c"}']
    assert (
        store.outbox.oldest_pending_seq() == store.outbox.newest_pending_seq() == first[-1][0] + 1
    )
    store.close()


def test_discarding_the_newest_row_keeps_its_seq_taken(tmp_path: Path) -> None:
    """A too-large newest event is given up, yet the next event still sorts after the state."""
    store = DeviceStore(tmp_path / "s.sqlite3")
    store.outbox.append(rows("a", "huge"))
    first = settled(store).pending_rows(1)
    store.outbox.mark_sent(first[0][0], first[0][0], 0)
    store.save_state(b"{}")
    huge = settled(store).pending_rows(10)  # the oldest pending row, alone in its batch
    assert [body for _, _, body in huge] == [b'{"name":"huge"}']
    store.outbox.discard_rows([huge[0][0]])
    assert store.outbox.pending == 0
    store.outbox.append(rows("b"))
    assert store.events_after_state() == [b'{"name":"b"}']
    assert [body for _, _, body in settled(store).pending_rows(10)] == [b'{"name":"b"}']
    store.close()
