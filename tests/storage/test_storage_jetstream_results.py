"""The pipeline's results on a JetStream log: a batch's decisions and first conversions reach
the stream (in their device's partition, in order, once), never the control plane's log; what a
crash left queued is appended when the cursor is next read; attribution keeps its state with its
cursor, and its ``conversion`` records are those a SQL log gets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from storage_support import T0, Backend, decision, event, new_app, own_stream, run

from tidings.core.campaigns import Conversion, Exposure
from tidings.core.partitions import partition_cursor, partition_key, partition_of
from tidings.destinations.amplitude import Currents
from tidings.storage import DecisionIn, IdentityCommit, LogRecord, OutboxItem, Settle, Store
from tidings.storage.attribution import ConversionIn, log_item
from tidings.storage.jetstream.results import (
    conversions_queued,
    decode_pending,
    encode_pending,
    pending_queue,
)
from tidings.streams.fromlog import records_from_row

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


# ---------------------------------------------------------------------------- conversions

CONVERSIONS = "campaign-conversions"
CAMPAIGN = {
    "id": "c_9",
    "name": "Welcome",
    "type": "DeepLink",
    "triggering": {"event": {"name": "Opened", "type": "custom"}},
    "content": {"url": "app://a"},
}


def _attributed(app_id: str, device: str = "dev-1") -> tuple[Exposure, ConversionIn]:
    """An exposure of ``device`` and its first conversion, with the payload the attribution
    consumer logs (the converting event's context and what converted what)."""
    exposure = Exposure(app_id, "c_9", "d-1", f"d:{device}", "A", T0)
    conversion = Conversion(exposure, 0, "e-buy", "PurchaseCompleted", T0 + 5)
    payload = {
        "source": "sdk",
        "appId": app_id,
        "device": {"deviceId": device, "platform": "ios"},
        "userId": "u-1",
        "conversion": {
            "id": "d-1/0",
            "campaignId": "c_9",
            "decisionId": "d-1",
            "treatmentId": "A",
            "control": False,
            "goal": 0,
            "eventId": "e-buy",
            "eventName": "PurchaseCompleted",
            "decidedAt": T0,
            "timestamp": T0 + 5,
        },
    }
    return exposure, ConversionIn(conversion, orjson.dumps(payload), device, "u-1")


def _conversions_cursor(app_id: str, device: str = "dev-1") -> str:
    return partition_cursor(CONVERSIONS, partition_of(app_id, partition_key(device, "u-1"), 4))


def _shape(r: LogRecord) -> tuple[object, ...]:
    """A conversion record in terms that do not depend on the app's id or the log."""
    payload = orjson.loads(r.payload)
    payload.pop("appId")
    return (r.kind, r.item_id, r.name, r.timestamp, r.device_id, r.user_id, payload)


async def _attribute_once(store: Store) -> tuple[str, list[LogRecord]]:
    """An app, the converting event, the attribution batch that read it; the log after."""
    app = await new_app(store)
    await store.ingest(app.app_id, [event("e-buy")], arrival_ms=T0)
    cursor = _conversions_cursor(app.app_id) if store.partitions > 1 else CONVERSIONS
    read = await store.read_log(0)
    exposure, conversion = _attributed(app.app_id)
    done = await store.record_attribution(
        [exposure], [conversion], cursor=cursor, seq=read[-1].seq, arrival_ms=T0 + 9
    )
    assert [c.log_id for c in done.first] == ["d-1/0"]
    return cursor, await store.read_log(0)


def test_a_first_conversion_on_jetstream_is_the_record_a_sql_log_gets(
    js_backend: Backend, tmp_path: Path
) -> None:
    async def go() -> None:
        sqlite = Backend("sqlite", f"sqlite:///{tmp_path / 'single.db'}")
        async with await sqlite.open() as single:
            _, single_log = await _attribute_once(single)
        async with await js_backend.open() as store:
            cursor, log = await _attribute_once(store)
            (expected,) = [r for r in single_log if r.kind == "conversion"]
            assert [_shape(r) for r in log if r.kind == "conversion"] == [_shape(expected)]
            assert await store.outbox_size(pending_queue(cursor)) == 0
            assert await store.control.read_log(0) == []
            # In the partition of its device, after the converting event: what the
            # attribution cursor and the device's other consumers read.
            mine = await store.read_log(0)
            assert [(r.kind, r.item_id) for r in mine] == [
                ("event", "e-buy"),
                ("conversion", "d-1/0"),
            ]
            part = partition_cursor("sink", partition_of(mine[0].app_id, "dev-1", 4))
            assert [r.item_id for r in await store.read_after(part)] == ["e-buy", "d-1/0"]
            row = mine[1]
            # A stream sink's record and Amplitude Currents' event of it.
            (record,) = records_from_row(row)
            assert record["event_type"] == "_campaign.conversion"
            assert record["event_id"] == "d-1/0/conversion"
            assert record["attributes"]["campaign_activity_id"] == "d-1"
            currents = Currents()
            currents.book.load([("c_9", CAMPAIGN)])
            (sent,) = currents.record_events("conversion", orjson.loads(row.payload), row.app_id)
            assert sent["event_type"] == "[Tidings] Campaign Conversion Event"
            assert (sent["insert_id"], sent["user_id"]) == ("d-1/0", "u-1")
            # The same batch handed over again stores nothing and appends nothing.
            exposure, conversion = _attributed(row.app_id)
            again = await store.record_attribution(
                [exposure], [conversion], cursor=cursor, seq=mine[0].seq
            )
            assert (again.exposures, again.first, again.repeats) == (0, [], 0)
            assert len(await store.read_log(0)) == 2

    run(go())


def test_a_conversion_a_crash_left_queued_is_appended_once_when_the_cursor_is_next_read(
    js_backend: Backend,
) -> None:
    async def go() -> None:
        async with await js_backend.open() as store:
            app = await new_app(store)
            await store.ingest(app.app_id, [event("e-buy")], arrival_ms=T0)
            cursor = _conversions_cursor(app.app_id)
            (read,) = await store.read_log(0)
            exposure, conversion = _attributed(app.app_id)
            # What the attribution commit leaves when the process dies before appending.
            done = await store.control.record_attribution(
                [exposure],
                [conversion],
                cursor=cursor,
                seq=read.seq,
                arrival_ms=T0 + 9,
                queue_log=conversions_queued(cursor, read.seq),
            )
            assert len(done.first) == 1
            assert await store.outbox_size(pending_queue(cursor)) == 1
            assert [r.kind for r in await store.read_log(0)] == ["event"]
        async with await js_backend.open() as store:  # the process that takes over
            # Its cursor is past the event: what it reads now is the queued conversion.
            fresh = await store.read_after(cursor)
            records = await store.read_log(0)
            assert [(r.kind, r.item_id) for r in records] == [
                ("event", "e-buy"),
                ("conversion", "d-1/0"),
            ]
            assert fresh == records[1:]
            assert (fresh[0].arrival_ms, fresh[0].name) == (T0 + 9, "c_9")
            assert orjson.loads(fresh[0].payload) == orjson.loads(conversion.payload)
            assert await store.outbox_size(pending_queue(cursor)) == 0
            # Appended again (two processes flushing the same queue at once): stored once.
            await store.append_records("conversion", [(app.app_id, log_item(conversion))], T0 + 9)
            # The batch handed over again: nothing new to store, nothing appended.
            again = await store.record_attribution([exposure], [conversion], cursor=cursor)
            assert again.first == []
            assert len(await store.read_log(0)) == 2

    run(go())


def test_a_queue_row_says_its_kind_and_an_old_row_without_one_is_a_decision() -> None:
    made = _decision_of("d-1", "dev-1")
    assert decode_pending(encode_pending("a", made, T0, "conversion")) == (
        "a",
        "conversion",
        made,
        T0,
    )
    old = orjson.dumps(["a", "d-1", "c_9", "SUCCESS", T0, "dev-1", None, T0]) + b"\n"
    assert decode_pending(old + made.payload) == ("a", "decision", made, T0)
