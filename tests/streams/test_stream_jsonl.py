"""JSON Lines sink: per-app directories, rotation, atomic completion, crash recovery."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tidings.streams.jsonl import JsonlSink, app_directory_name, read_jsonl_dir
from tidings.streams.sink import FilePosition, ListSource, SinkRunner, StreamError

Records = Callable[..., list[dict[str, Any]]]


class Clock:
    """A hand-driven clock so rotation by age needs no sleeping."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def partials(root: Path) -> list[Path]:
    return sorted(root.glob("*/.*.partial"))


def test_one_directory_per_app_and_atomic_completion(
    tmp_path: Path, records_factory: Records
) -> None:
    records = records_factory(30, ("app-a", "app-b", "app-c"))
    sink = JsonlSink(tmp_path, clock=Clock())
    sink.deliver(records)
    # Until a file is complete, readers see nothing under a final name.
    assert read_jsonl_dir(tmp_path / "app-a") == []
    assert len(partials(tmp_path)) == 3
    sink.close()
    assert partials(tmp_path) == []
    for app in ("app-a", "app-b", "app-c"):
        got = read_jsonl_dir(tmp_path / app)
        assert got == [r for r in records if r["application"]["app_id"] == app]


def test_rotation_by_size(tmp_path: Path, records_factory: Records) -> None:
    records = records_factory(100)
    line = len(orjson.dumps(records[0])) + 1
    sink = JsonlSink(tmp_path, max_bytes=line * 10, clock=Clock())
    for start in range(0, 100, 7):
        sink.deliver(records[start : start + 7])
    sink.close()
    files = sorted((tmp_path / "app-1").glob("stream-*.jsonl"))
    assert len(files) >= 10
    for path in files:
        assert path.stat().st_size <= line * 11
    assert read_jsonl_dir(tmp_path / "app-1") == records


def test_single_record_larger_than_the_limit_gets_its_own_file(
    tmp_path: Path, records_factory: Records
) -> None:
    records = records_factory(3)
    sink = JsonlSink(tmp_path, max_bytes=10, clock=Clock())
    sink.deliver(records)
    sink.close()
    assert len(list((tmp_path / "app-1").glob("stream-*.jsonl"))) == 3
    assert read_jsonl_dir(tmp_path / "app-1") == records


def test_rotation_by_age_on_write_and_when_idle(tmp_path: Path, records_factory: Records) -> None:
    records = records_factory(6)
    clock = Clock()
    sink = JsonlSink(tmp_path, max_age_seconds=60, clock=clock)
    sink.deliver(records[:2])
    clock.now += 59
    sink.maintain()
    assert read_jsonl_dir(tmp_path / "app-1") == []
    clock.now += 1
    sink.deliver(records[2:4])  # the old file is complete before this batch starts a new one
    assert read_jsonl_dir(tmp_path / "app-1") == records[:2]
    clock.now += 60
    sink.maintain()  # nothing new arrived, but the file is old enough: complete it
    assert read_jsonl_dir(tmp_path / "app-1") == records[:4]
    assert partials(tmp_path) == []
    sink.deliver(records[4:])
    sink.close()
    assert read_jsonl_dir(tmp_path / "app-1") == records


def test_recovery_completes_partials_and_cuts_torn_line(
    tmp_path: Path, records_factory: Records
) -> None:
    records = records_factory(5)
    sink = JsonlSink(tmp_path, clock=Clock())
    sink.deliver(records[:4])
    (partial,) = partials(tmp_path)
    # Simulate a crash halfway through writing a fifth line: the process dies, handles leak.
    with open(partial, "ab") as handle:
        handle.write(orjson.dumps(records[4])[:25])
    restarted = JsonlSink(tmp_path, clock=Clock(1_800_000_100.0))
    assert partials(tmp_path) == []
    assert read_jsonl_dir(tmp_path / "app-1") == records[:4]
    restarted.close()


def test_restart_mid_stream_has_no_gaps(tmp_path: Path, records_factory: Records) -> None:
    records = records_factory(250)
    source = ListSource(records)
    positions = FilePosition(tmp_path / "state" / "jsonl.position")
    out = tmp_path / "out"

    class CrashAfterDeliver(JsonlSink):
        """Dies after the third batch is on disk but before its position is stored."""

        batches = 0

        def deliver(self, batch: Any) -> None:
            super().deliver(batch)
            self.batches += 1
            if self.batches == 3:
                raise KeyboardInterrupt

    runner = SinkRunner(source, CrashAfterDeliver(out, clock=Clock()), positions, batch_size=40)
    with pytest.raises(KeyboardInterrupt):
        runner.run_until_idle()
    assert positions.load() == 79  # two batches acknowledged

    restarted = JsonlSink(out, clock=Clock(1_800_000_500.0))
    stats = SinkRunner(source, restarted, positions, batch_size=40).run_until_idle()
    restarted.close()
    assert stats.position == 249
    got = read_jsonl_dir(out / "app-1")
    ids = [r["event_id"] for r in got]
    assert set(ids) == {r["event_id"] for r in records}  # nothing lost
    # The third batch was written twice; every duplicate is a byte-identical copy.
    assert len(got) == 250 + 40
    first_copy = {r["event_id"]: r for r in got}
    assert all(first_copy[r["event_id"]] == r for r in got)
    # Order is kept: de-duplicated on event_id, the stream reads exactly as the source.
    seen: set[str] = set()
    deduped = [r for r in got if not (r["event_id"] in seen or seen.add(r["event_id"]))]
    assert deduped == records


def test_app_directory_names_are_safe() -> None:
    assert app_directory_name("app-1") == "app-1"
    assert "/" not in app_directory_name("../etc/passwd")
    assert not app_directory_name("..").startswith(".")
    assert not app_directory_name(".hidden").startswith(".")
    assert app_directory_name("a b") != app_directory_name("a_b")


def test_record_without_app_is_refused(tmp_path: Path) -> None:
    sink = JsonlSink(tmp_path)
    with pytest.raises(StreamError):
        sink.deliver([{"event_type": "x"}])
    sink.close()


@settings(max_examples=25, deadline=None)
@given(
    batches=st.lists(st.integers(min_value=1, max_value=30), min_size=1, max_size=8),
    max_lines=st.integers(min_value=1, max_value=40),
    ticks=st.lists(st.floats(min_value=0, max_value=100), min_size=8, max_size=8),
)
def test_any_batching_and_rotation_reads_back_in_order(
    records_factory: Records, batches: list[int], max_lines: int, ticks: list[float]
) -> None:
    records = records_factory(sum(batches), ("app-a", "app-b"))
    line = max(len(orjson.dumps(r)) + 1 for r in records)
    clock = Clock()
    with tempfile.TemporaryDirectory() as root:
        sink = JsonlSink(root, max_bytes=line * max_lines, max_age_seconds=50, clock=clock)
        start = 0
        for size, tick in zip(batches, ticks, strict=False):
            sink.deliver(records[start : start + size])
            start += size
            clock.now += tick
            sink.maintain()
        sink.close()
        for app in ("app-a", "app-b"):
            expected = [r for r in records if r["application"]["app_id"] == app]
            assert read_jsonl_dir(Path(root) / app) == expected
            for path in Path(root, app).glob("stream-*.jsonl"):
                data = path.read_bytes()
                assert data.endswith(b"\n")
                assert len(data) <= line * max_lines or data.count(b"\n") == 1
