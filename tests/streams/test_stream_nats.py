"""NATS JetStream sink against the real server on 127.0.0.1:4222.

Every test uses its own uniquely named streams (a random prefix) and deletes them afterwards.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.js.errors import NotFoundError
from stream_support import OwnServer
from stream_support import read_stream_at as _read_stream_at

from tidings.core.errors import InvalidInput
from tidings.streams.nats import NatsSink, app_token
from tidings.streams.sink import FilePosition, ListSource, SinkRunner, SinkUnavailableError

pytestmark = pytest.mark.nats

Records = Callable[..., list[dict[str, Any]]]
SERVER = "nats://127.0.0.1:4222"


async def _read_stream(name: str) -> list[tuple[dict[str, Any], dict[str, str]]]:
    """Every message of a stream on the shared server, in stream order, with its headers."""
    return await _read_stream_at(SERVER, name)


async def _delete_streams(prefix: str) -> None:
    nc = await nats.connect(SERVER)
    try:
        js = nc.jetstream()
        for name in await js.streams_info():
            if name.config.name and name.config.name.startswith(prefix):
                await js.delete_stream(name.config.name)
    finally:
        await nc.close()


def read_stream(name: str) -> list[tuple[dict[str, Any], dict[str, str]]]:
    return asyncio.run(_read_stream(name))


@pytest.fixture
def prefix() -> Iterator[str]:
    value = f"TTEST{uuid.uuid4().hex[:10].upper()}"
    yield value
    asyncio.run(_delete_streams(value))


def make_sink(prefix: str, **kwargs: Any) -> NatsSink:
    return NatsSink(
        SERVER, stream_prefix=prefix, subject_prefix=f"t.{prefix.lower()}", timeout=5, **kwargs
    )


def test_every_record_reads_back_per_app(prefix: str, records_factory: Records) -> None:
    records = records_factory(90, ("app-a", "app.b"))
    sink = make_sink(prefix)
    try:
        sink.deliver(records[:40])
        sink.deliver(records[40:])
    finally:
        sink.close()
    for app_id in ("app-a", "app.b"):
        got = read_stream(sink.stream_name(app_id))
        expected = [r for r in records if r["application"]["app_id"] == app_id]
        assert [body for body, _ in got] == expected
        assert [headers["Nats-Msg-Id"] for _, headers in got] == [r["event_id"] for r in expected]
    assert sink.stream_name("app.b") != sink.stream_name("app_b")
    assert "." not in app_token("app.b")


def test_restart_mid_stream_no_gaps_and_same_ids(
    tmp_path: Path, prefix: str, records_factory: Records
) -> None:
    records = records_factory(150)
    source = ListSource(records)
    positions = FilePosition(tmp_path / "nats.position")

    class CrashAfterDeliver(NatsSink):
        """Dies after its second batch is acknowledged but before the position is stored."""

        batches = 0

        def deliver(self, batch: Any) -> None:
            super().deliver(batch)
            self.batches += 1
            if self.batches == 2:
                raise KeyboardInterrupt

    first = CrashAfterDeliver(
        SERVER, stream_prefix=prefix, subject_prefix=f"t.{prefix.lower()}", timeout=5
    )
    with pytest.raises(KeyboardInterrupt):
        SinkRunner(source, first, positions, batch_size=30).run_until_idle()
    first.close()
    assert positions.load() == 29

    second = make_sink(prefix)
    try:
        stats = SinkRunner(source, second, positions, batch_size=30).run_until_idle()
    finally:
        second.close()
    assert stats.position == 149
    # The second batch was published twice with the same Nats-Msg-Id; inside the duplicate
    # window JetStream keeps one copy, so the stream reads exactly as the source.
    got = [body for body, _ in read_stream(second.stream_name("app-1"))]
    assert got == records


def test_duplicate_window_drops_a_resent_batch(prefix: str, records_factory: Records) -> None:
    records = records_factory(20)
    sink = make_sink(prefix, duplicate_window_seconds=60)
    try:
        sink.deliver(records)
        sink.deliver(records[10:])  # a retried batch
    finally:
        sink.close()
    assert [body for body, _ in read_stream(sink.stream_name("app-1"))] == records


def test_existing_stream_is_reused(prefix: str, records_factory: Records) -> None:
    records = records_factory(4)
    for part in (records[:2], records[2:]):
        sink = make_sink(prefix)
        try:
            sink.deliver(part)
        finally:
            sink.close()
    assert [body for body, _ in read_stream(sink.stream_name("app-1"))] == records


def test_unreachable_server_is_unavailable(prefix: str, records_factory: Records) -> None:
    sink = NatsSink(
        "nats://127.0.0.1:1",
        stream_prefix=prefix,
        timeout=0.5,
        connect_options={"max_reconnect_attempts": 1, "reconnect_time_wait": 0.05},
    )
    try:
        with pytest.raises(SinkUnavailableError):
            sink.deliver(records_factory(1))
    finally:
        sink.close()


def test_bad_prefixes_are_refused() -> None:
    with pytest.raises(InvalidInput) as info:
        NatsSink(SERVER, stream_prefix="A.B")
    assert info.value.field == "stream_prefix"
    with pytest.raises(InvalidInput) as info:
        NatsSink(SERVER, subject_prefix="a.*")
    assert info.value.field == "subject_prefix"


def test_no_stream_is_left_behind(prefix: str) -> None:
    # The fixture's cleanup is part of the contract with the shared server.
    with pytest.raises(NotFoundError):
        read_stream(f"{prefix}_never")


def test_server_outage_mid_stream_loses_nothing(tmp_path: Path, records_factory: Records) -> None:
    records = records_factory(60)
    server = OwnServer(tmp_path / "js")
    server.start()
    source = ListSource(records)
    positions = FilePosition(tmp_path / "nats.position")
    sink = NatsSink(
        server.url,
        stream_prefix="OUTAGE",
        timeout=1,
        connect_options={"max_reconnect_attempts": 1, "reconnect_time_wait": 0.05},
    )
    try:
        runner = SinkRunner(source, sink, positions, batch_size=20)
        assert runner.run_once() == 20
        server.stop()
        with pytest.raises(SinkUnavailableError):
            runner.run_once()
        assert positions.load() == 19
        server.start()
        stats = runner.run_until_idle()
        assert stats.position == 59
        got = [body for body, _ in asyncio.run(_read_stream_at(server.url, "OUTAGE_app-1"))]
        seen: set[str] = set()
        assert [r for r in got if not (r["event_id"] in seen or seen.add(r["event_id"]))] == records
    finally:
        sink.close()
        server.stop()
