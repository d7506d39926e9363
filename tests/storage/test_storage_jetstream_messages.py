"""The JetStream log's message layout: one message per (append, kind, partition), record
positions inside messages, reads that stop and resume inside a message, oversized uploads split
over several messages, and messages Tidings did not write skipped."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest
from hypothesis import given
from hypothesis import strategies as st
from storage_support import NATS_URL, T0, Backend, event, new_app, own_stream, run

from tidings.core.partitions import partition_cursor
from tidings.storage import EventIn, OpenError, open_store
from tidings.storage.jetstream import codec
from tidings.storage.jetstream.config import parse_log_url
from tidings.storage.logbatch import LogItem

pytestmark = pytest.mark.nats


@pytest.fixture
def js_backend(tmp_path: Path) -> Iterator[Backend]:
    with own_stream(partitions=2) as log:
        path = tmp_path / "control.db"
        yield Backend("jetstream", f"sqlite:///{path}", path=path, log=log)


# ---------------------------------------------------------------------------- pure layout


def _item(i: int, size: int, prefix: bytes = b"") -> LogItem:
    return (f"id-{i}", "E", T0 + i, "dev", None, prefix, b"x" * size)


@given(st.lists(st.integers(1, codec.MAX_RECORDS), min_size=1, max_size=6))
def test_positions_grow_strictly_and_resume_where_they_stopped(counts: list[int]) -> None:
    everything = [p for seq, n in enumerate(counts, 1) for p in codec.positions(seq, n)]
    assert everything == sorted(set(everything))
    ends = [codec.end_position(seq) for seq in range(1, len(counts) + 1)]
    assert all(end in everything for end in ends)
    for seq, n in enumerate(counts, 1):
        mine = codec.positions(seq, n)
        assert mine[-1] == codec.end_position(seq)
        assert all(codec.message_of(p) == seq for p in mine)
        for at in {mine[0], mine[len(mine) // 2], mine[-1]}:
            # a read after ``at`` starts at this message unless ``at`` finished it
            assert codec.resume_at(at) == (seq + 1 if at == mine[-1] else seq)


@given(
    st.lists(st.integers(0, 3000), min_size=1, max_size=300),
    st.integers(2000, 20_000),
    st.sampled_from([b"", b"p" * 500]),
)
def test_chunks_keep_order_and_fit_the_budget(sizes: list[int], budget: int, prefix: bytes) -> None:
    items = [_item(i, size, prefix) for i, size in enumerate(sizes)]
    chunks = list(codec.chunks(items, budget))
    assert [x for chunk in chunks for x in chunk] == items
    for chunk in chunks:
        body = codec.encode("app", "event", T0, chunk)
        assert len(chunk) == 1 or len(body) <= budget + 200  # the header line and brackets
        assert len(chunk) <= codec.MAX_RECORDS


def test_a_message_reads_back_from_any_position_inside_it() -> None:
    items = [_item(i, 10, b"common") for i in range(5)]
    body = codec.encode("app", "event", T0, items)
    whole = list(codec.decode(7, body))
    assert [r.item_id for r in whole] == [f"id-{i}" for i in range(5)]
    assert [r.payload for r in whole] == [b"common" + b"x" * 10] * 5
    assert whole[-1].seq == codec.end_position(7)
    for k, record in enumerate(whole):
        rest = list(codec.decode(7, body, after=record.seq))
        assert [r.item_id for r in rest] == [f"id-{i}" for i in range(k + 1, 5)]


def test_the_same_records_make_the_same_message_id() -> None:
    a = [_item(i, 1) for i in range(3)]
    assert codec.message_id("app", "event", a) == codec.message_id("app", "event", list(a))
    assert codec.message_id("app", "event", a) != codec.message_id("app", "decision", a)
    assert codec.message_id("app", "event", a) != codec.message_id("app", "event", a[:2])


# ---------------------------------------------------------------------------- on a stream


def test_an_upload_is_one_message_per_partition(js_backend: Backend) -> None:
    async def go() -> None:
        async with await js_backend.open() as store:
            app = await new_app(store)
            before = codec.message_of(await store.last_seq())
            devices = [f"dev-{i}" for i in range(20)]  # both partitions
            events = [event(f"e{i}", device_id=devices[i % 20]) for i in range(200)]
            result = await store.ingest(app.app_id, events, arrival_ms=T0)
            assert result.outcome is not None and result.outcome.accepted == 200
            assert codec.message_of(await store.last_seq()) - before == 2

    run(go())


def test_reads_stop_and_resume_inside_messages(js_backend: Backend) -> None:
    async def go() -> None:
        async with await js_backend.open() as store:
            app = await new_app(store)
            sent = []
            for upload in range(4):
                batch = [event(f"u{upload}-{i}", device_id="one") for i in range(7)]
                sent += [e.id for e in batch]
                await store.ingest(app.app_id, batch, arrival_ms=T0)
            cursor = "reader"
            got: list[str] = []
            positions: list[int] = []
            while True:
                records = await store.read_after(cursor, 3)
                if not records:
                    break
                assert len(records) <= 3
                got += [r.item_id for r in records]
                positions += [r.seq for r in records]
                await store.commit_cursor(cursor, records[-1].seq)
            assert got == sent and positions == sorted(set(positions))
            # Moved back inside a message (a replay), a cursor resumes right after that record.
            await store.reset_cursor(cursor, positions[9])
            again = await store.read_after(cursor, 100)
            assert [r.item_id for r in again] == sent[10:]
            # The whole-log reader agrees, from anywhere.
            assert [r.item_id for r in await store.read_log(positions[3], 5)] == sent[4:9]

    run(go())


def test_an_upload_bigger_than_a_message_is_split_in_order(js_backend: Backend) -> None:
    async def go() -> None:
        async with await js_backend.open() as store:
            app = await new_app(store)
            big = "y" * 3000  # 600 events of ~3 KB: more than one 1 MB message
            events = [event(f"b{i}", properties={"blob": big}) for i in range(600)]
            before = codec.message_of(await store.last_seq())
            result = await store.ingest(app.app_id, events, arrival_ms=T0)
            assert result.outcome is not None and result.outcome.accepted == 600
            assert codec.message_of(await store.last_seq()) - before >= 2
            records = []
            for p in range(2):
                while page := await store.read_after(partition_cursor("s", p), 250):
                    records += page
                    await store.commit_cursor(partition_cursor("s", p), page[-1].seq)
            assert [r.item_id for r in records] == [e.id for e in events]
            again = await store.ingest(app.app_id, events, arrival_ms=T0 + 1)
            assert again.outcome is not None and again.outcome.duplicates == 600

    run(go())


def test_a_message_tidings_did_not_write_is_skipped(js_backend: Backend) -> None:
    async def go() -> None:
        assert js_backend.log is not None
        log = parse_log_url(js_backend.log)
        async with await js_backend.open() as store:
            app = await new_app(store)
            await store.ingest(app.app_id, [event("before")], arrival_ms=T0)
            nc = await nats.connect(NATS_URL)
            try:
                await nc.jetstream().publish(f"{log.prefix}.0.{app.app_id}", b"not a batch")
                await nc.jetstream().publish(f"{log.prefix}.1.{app.app_id}", b"[9]\n{}")
            finally:
                await nc.close()
            await store.ingest(app.app_id, [event("after")], arrival_ms=T0)
            records = await store.read_log(0, 100)
            assert [r.item_id for r in records] == ["before", "after"]

    run(go())


def test_a_stream_of_single_record_messages_is_refused(tmp_path: Path) -> None:
    async def go(url: str) -> None:
        log = parse_log_url(url)
        nc = await nats.connect(NATS_URL)
        try:
            await nc.jetstream().add_stream(
                name=log.stream,
                subjects=[f"{log.prefix}.>"],
                description=f"tidings event log; partitions=4; subjects={log.prefix}",
            )
        finally:
            await nc.close()
        with pytest.raises(OpenError, match=r"layout 1.*layout 2"):
            await open_store(f"sqlite:///{tmp_path / 'c.db'}", server_key=bytes(32), log=url)

    with own_stream(partitions=4) as url:
        run(go(url))


def test_concurrent_uploads_of_one_device_keep_their_order(js_backend: Backend) -> None:
    async def go() -> None:
        async with await js_backend.open() as store:
            app = await new_app(store)
            batches: list[list[EventIn]] = [
                [event(f"c{k}-{i}", device_id="dev-x") for i in range(5)] for k in range(10)
            ]
            for batch in batches:  # in turn: a device sends its next batch after the last
                await store.ingest(app.app_id, batch, arrival_ms=T0)
            others = [[event(f"o{k}", device_id=f"o{k}")] for k in range(10)]
            await asyncio.gather(*(store.ingest(app.app_id, b, arrival_ms=T0) for b in others))
            mine = [r.item_id for r in await store.read_log(0, 1000) if r.device_id == "dev-x"]
            assert mine == [e.id for b in batches for e in b]

    run(go())


def test_a_message_holds_at_most_max_records() -> None:
    with pytest.raises(ValueError, match="1 to 65535 records"):
        codec.positions(1, codec.MAX_RECORDS + 1)
