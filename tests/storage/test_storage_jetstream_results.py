"""The pipeline's results on a JetStream log: a batch's decisions reach the stream (in their
device's partition, in order, once), never the control plane's log; what a crash left queued
is appended when the cursor is next read; attribution keeps its state with its cursor."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from storage_support import T0, Backend, decision, event, new_app, own_stream, run

from tidings.core.partitions import partition_cursor, partition_key, partition_of
from tidings.storage import DecisionIn, IdentityCommit, OutboxItem, Settle
from tidings.storage.jetstream.results import encode_pending, pending_queue

pytestmark = pytest.mark.nats


@pytest.fixture
def js_backend(tmp_path: Path) -> Iterator[Backend]:
    with own_stream(partitions=4) as log:
        yield Backend("jetstream", f"sqlite:///{tmp_path / 'control.db'}", log=log)


def _decision_of(did: str, device: str) -> DecisionIn:
    made = decision(did, "c_9")
    return DecisionIn(made.id, made.campaign_id, made.status, T0, made.payload, device_id=device)


def test_a_batch_s_decisions_are_appended_to_the_stream_in_their_device_s_partition(
    js_backend: Backend,
) -> None:
    async def go() -> None:
        async with await js_backend.open() as store:
            app = await new_app(store)
            devices = [f"dev-{i}" for i in range(8)]
            await store.ingest(
                app.app_id, [event(f"e-{d}", device_id=d) for d in devices], arrival_ms=T0
            )
            part = partition_of(app.app_id, partition_key("dev-0", None), 4)
            cursor = partition_cursor("server-campaigns", part)
            mine = await store.read_after(cursor)
            assert mine and all(r.device_id for r in mine)
            made = [(app.app_id, _decision_of(f"d-{r.device_id}", r.device_id or "")) for r in mine]
            commit = IdentityCommit(
                cursor,
                mine[0].seq,
                mine[-1].seq,
                states=[(f"a|d:{r.device_id}", b"s") for r in mine],
                decisions=made,
                deliveries=[("dst_1", OutboxItem("d-x", "dev-0", 0, T0, b"{}"))],
            )
            assert await store.commit_identity_batch(commit, T0)
            assert await store.get_cursor(cursor) == mine[-1].seq
            assert await store.outbox_size(pending_queue(cursor)) == 0
            assert [r.item_key for r in await store.outbox_rows("dst_1")] == ["d-x"]
            # In the stream, after the events, in the partition the cursor reads.
            later = await store.read_after(cursor)
            assert [(r.kind, r.item_id) for r in later] == [("decision", d.id) for _, d in made]
            # Not in the control plane's own log.
            assert await store.control.read_log(0) == []
            # A redo of the same batch (its commit lost the race) appends nothing.
            assert not await store.commit_identity_batch(commit, T0)
            whole = await store.read_log(0, 1000)
            assert len([r for r in whole if r.kind == "decision"]) == len(made)

    run(go())


def test_decisions_a_crash_left_queued_are_appended_when_the_cursor_is_next_read(
    js_backend: Backend,
) -> None:
    async def go() -> None:
        async with await js_backend.open() as store:
            app = await new_app(store)
            await store.ingest(app.app_id, [event("e1")], arrival_ms=T0)
            cursor = partition_cursor(
                "server-campaigns", partition_of(app.app_id, partition_key("dev-1", None), 4)
            )
            # What a commit leaves when the process dies before appending: queued rows.
            queued = [
                OutboxItem(d, "", 1, T0, encode_pending(app.app_id, _decision_of(d, "dev-1"), T0))
                for d in ("q1", "q2")
            ]
            await store.control.enqueue(pending_queue(cursor), queued)
        async with await js_backend.open() as store:  # the process that takes over
            records = await store.read_after(cursor)
            assert [(r.kind, r.item_id) for r in records] == [
                ("event", "e1"),
                ("decision", "q1"),
                ("decision", "q2"),
            ]
            payload = orjson.loads(records[1].payload)
            assert payload["id"] == "q1"
            assert await store.outbox_size(pending_queue(cursor)) == 0
            # Appending them again (two processes flushing the same queue at once) stores them
            # once: the same records make the same message.
            await store.append_decisions(
                [(app.app_id, _decision_of(d, "dev-1")) for d in ("q1", "q2")], T0 + 7
            )
            assert len(await store.read_log(0)) == 3

    run(go())


def test_a_dead_call_s_failure_record_goes_to_the_stream(js_backend: Backend) -> None:
    async def go() -> None:
        async with await js_backend.open() as store:
            app = await new_app(store)
            await store.enqueue("dst_1", [OutboxItem("d1", "dev-1", 0, T0, b"{}")])
            row = (await store.outbox_rows("dst_1"))[0]
            failure = _decision_of("d1-failure", "dev-1")
            await store.settle("dst_1", [Settle(row.id)], log=[(app.app_id, failure)])
            assert await store.outbox_size("dst_1") == 0
            assert [(r.kind, r.item_id) for r in await store.read_log(0)] == [
                ("decision", "d1-failure")
            ]
            assert await store.control.read_log(0) == []

    run(go())
