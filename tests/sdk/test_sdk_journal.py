"""The write-ahead journal in front of the outbox: records, recovery after a death, idempotence."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sdk_helpers import settled

from tidings.sdk import journal as wal
from tidings.sdk.store import KIND_DECISION, KIND_EVENT, DeviceStore

pytestmark = pytest.mark.skipif(not wal.AVAILABLE, reason="no journal without fcntl")

row_st = st.tuples(
    st.sampled_from([KIND_EVENT, KIND_DECISION]),
    st.one_of(st.none(), st.text(min_size=1, max_size=20)),
    st.binary(max_size=60),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(row_st, min_size=1, max_size=4), max_size=6), st.data())
def test_a_torn_journal_decodes_to_the_records_written_before_the_tear(
    calls: list[list[tuple[int, str | None, bytes]]], data: st.DataObject
) -> None:
    encoded = [wal.encode(7, rows) for rows in calls]
    whole = b"".join(encoded)
    cut = data.draw(st.integers(min_value=0, max_value=len(whole)))
    decoded = list(wal.decode(whole[:cut]))
    complete, at = 0, 0
    for record in encoded:
        if at + len(record) > cut:
            break
        at += len(record)
        complete += 1
    assert decoded == [(7, rows) for rows in calls[:complete]]


def rows(*names: str) -> list[tuple[int, str | None, bytes]]:
    return [(KIND_EVENT, "s1", b'{"name":"%s"}' % n.encode()) for n in names]


def die(store: DeviceStore) -> None:
    """What a SIGKILL leaves: the journal's descriptor (and lock) gone, nothing moved."""
    assert store.outbox._journal is not None
    store.outbox._journal.abandon()


def bodies(store: DeviceStore) -> list[bytes]:
    return [body for _, _, body in settled(store).pending_rows(100)]


def test_a_dead_process_journal_is_recovered_in_order(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    first = DeviceStore(path)
    first.outbox.append(rows("a"))
    first.outbox.settle()
    first.outbox.append(rows("b", "c"))
    first.outbox.append(rows("d"))
    assert first.outbox.staged == 3
    assert first.outbox._journal is not None
    torn = wal.encode(first.outbox._journal.generation, rows("x"))[:-3]  # the last write, cut short
    journal = first.outbox._journal.path
    with open(journal, "ab") as fh:
        fh.write(torn)
    die(first)
    second = DeviceStore(path)
    assert second.outbox.pending == 4
    assert bodies(second) == [b'{"name":"%s"}' % n for n in (b"a", b"b", b"c", b"d")]
    assert not journal.exists()
    second.close()
    third = DeviceStore(path)
    assert third.outbox.pending == 4  # nothing recovered twice
    third.close()


def test_a_death_between_the_move_and_the_truncation_inserts_nothing_twice(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.sqlite3"
    first = DeviceStore(path)
    first.outbox.append(rows("a", "b"))
    assert first.outbox._journal is not None
    before = first.outbox._journal.path.read_bytes()
    first.outbox.settle()
    first.outbox._journal.path.write_bytes(before)  # as if the truncation never happened
    first.outbox.append(rows("c"))  # a later generation: not in SQLite yet
    die(first)
    second = DeviceStore(path)
    assert bodies(second) == [b'{"name":"a"}', b'{"name":"b"}', b'{"name":"c"}']
    second.close()


def test_a_live_journal_is_not_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    first = DeviceStore(path)
    first.outbox.append(rows("a"))
    second = DeviceStore(path)
    assert second.outbox.pending == 0  # "a" belongs to the first store, which moves it itself
    first.close()
    assert bodies(second) == [b'{"name":"a"}']
    second.close()
    assert list(tmp_path.glob("journal-*")) == []


def test_synchronous_full_commits_to_sqlite_directly(tmp_path: Path) -> None:
    store = DeviceStore(tmp_path / "s.sqlite3", synchronous="full")
    store.outbox.append(rows("a"))
    assert store.outbox.staged == 0
    assert list(tmp_path.glob("journal-*")) == []
    store.close()


_FORK_SCRIPT = """
import os, sys
from tidings.sdk import Tidings

client = Tidings(
    data_dir=sys.argv[1], upload_interval=60.0, app_id="app", api_key_public="pk",
    api_key_secret="sk", backend_url="http://127.0.0.1:9", http_timeout=5.0,
)
client.track("Before")  # journaled, not in SQLite yet when the process forks
pid = os.fork()
if pid == 0:
    code = 1
    try:
        client.track("InChild")
        names = [e.name for e in client.get_recent_events(100)]
        code = 0 if "InChild" in names else 2
    finally:
        os._exit(code)
_, status = os.waitpid(pid, 0)
assert os.waitstatus_to_exitcode(status) == 0, status
names = [e.name for e in client.get_recent_events(100)]
assert names.count("Before") == 1 and names.count("InChild") == 1, names
client.close(timeout=1.0)
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX only")
def test_a_forked_child_leaves_the_parent_journal_alone(tmp_path: Path) -> None:
    # In a fresh interpreter: forking this test process would copy whatever threads earlier
    # tests left running, and a thread inside SQLite at that instant hangs the child.
    done = subprocess.run(
        [sys.executable, "-c", _FORK_SCRIPT, str(tmp_path / "device")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_a_state_is_replayed_from_the_seq_it_was_saved_at(tmp_path: Path) -> None:
    """A restart reads the saved state and its ``seq`` as one pair: when the old process saves
    a newer pair in between, the events after the pair read are still replayed, not skipped."""
    path = tmp_path / "s.sqlite3"
    old = DeviceStore(path)
    old.outbox.append(rows("a"), state=b'{"n":1}')
    old.outbox.append(rows("b", "c"))
    old.outbox.settle()
    new = DeviceStore(path)
    state, seq = new.db.saved_state()
    assert state == b'{"n":1}'
    old.save_state(b'{"n":3}')  # the old process, still running, saves after the read
    assert new.events_after_state(seq) == [b'{"name":"b"}', b'{"name":"c"}']
    assert new.events_after_state() == []  # what reading the seq afterwards would replay
    new.close()
    old.close()
