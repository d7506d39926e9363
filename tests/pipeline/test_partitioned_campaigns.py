"""Server-side campaigns and conversion attribution on a partitioned JetStream log, driven by two
runners sharing the partitions: every device gets the decisions, calls and conversions the same
input gives on SQLite (one behaviour, however many runners), each decision in its device's
partition after the event that triggered it (also when the person was last seen on another
device); a user on two devices in two partitions keeps one state (the campaign's per-person
limit holds across them)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson
import pytest
from campaign_scenario import (
    ANONYMOUS,
    DAY,
    PARTITIONS,
    T0,
    USERS,
    Setup,
    consumers,
    decision_of,
    event,
    first_phase,
    on_sqlite,
    outcome,
    second_phase,
    setup,
    sorted_counts,
    upload,
    wait_settled,
)
from storage_support import Backend, run

from tidings.core.partitions import partition_cursor, partition_key, partition_of
from tidings.pipeline.campaigns import CURSOR, BatchTaken, ServerCampaigns
from tidings.storage import EventIn, LogRecord, Store

pytestmark = pytest.mark.nats


async def _on_jetstream(js: Backend, limit: int, phases: Any) -> tuple[dict[str, Any], Store]:
    one, two = await js.open(), await js.open()
    assert one.partitions == PARTITIONS
    s = await setup(one, limit)
    first, second = consumers(one), consumers(two)
    await first.start()
    await second.start()
    try:
        for phase in phases:
            await phase(one, s)
            await wait_settled(one)
    finally:
        await first.stop()
        await second.stop()
        await two.close()
    return await outcome(one, s), one


def test_two_runners_over_partitions_give_every_device_what_sqlite_gives(
    js_backend: Backend, tmp_path: Path
) -> None:
    async def go() -> None:
        phases = [first_phase, second_phase]
        single = await on_sqlite(tmp_path, 2, phases)
        spread, store = await _on_jetstream(js_backend, 2, phases)
        try:
            # The scenario means something: two calls per anonymous device, one per user,
            # the third sign-up capped; conversions of both kinds of decision.
            anon = single["decisions"]["anon-0"]
            assert [status for _, status in anon] == ["SUCCESS", "SUCCESS", "CAMPAIGN_CAP"]
            assert len(single["calls"]) == 2 * len(ANONYMOUS) + len(USERS)
            assert single["counts"]["server"][1] == [(DAY, "0", 0, 30, 0)]
            assert sorted(single["counts"]["device"][1], key=str) == [
                (DAY, "0", 0, 4, 2),
                (DAY, None, 0, 2, 1),
            ]
            assert sorted(sorted(x.items()) for x in single["stats"].values()) == [
                [("CAMPAIGN_CAP", 12), ("SUCCESS", 30)],
                [("HOLDOUT", 2), ("SUCCESS", 4)],
            ]

            assert spread["decisions"] == single["decisions"]
            assert spread["calls"] == single["calls"]
            # One conversion record per first conversion, as on SQLite.
            firsts = sum(
                row[3] for kind in ("server", "device") for row in single["counts"][kind][1]
            )
            assert sum(len(found) for found in single["conversions"].values()) == firsts
            assert spread["conversions"] == single["conversions"]
            assert list(spread["stats"].values()) == list(single["stats"].values())
            for kind in ("server", "device"):
                assert sorted_counts(spread["counts"][kind]) == sorted_counts(
                    single["counts"][kind]
                )

            # Each server decision is in the partition of the event that triggered it, after
            # that event, and the control plane's own log holds nothing.
            log = await store.read_log(0, 100_000)
            events = {r.item_id: r for r in log if r.kind == "event"}
            server = [
                r
                for r in log
                if r.kind == "decision" and orjson.loads(r.payload)["source"] == "server"
            ]
            assert len(server) == len(ANONYMOUS) * 3 + len(USERS)
            for r in server:
                trigger = events[decision_of(r)["eventId"]]
                assert _partition(r) == _partition(trigger)
                assert r.seq > trigger.seq
            # Each conversion record is in the partition of the event that converted, after it.
            conversions = [r for r in log if r.kind == "conversion"]
            assert conversions
            for r in conversions:
                converting = events[orjson.loads(r.payload)["conversion"]["eventId"]]
                assert _partition(r) == _partition(converting)
                assert r.seq > converting.seq
            assert await store.control.read_log(0) == []  # type: ignore[attr-defined]
        finally:
            await store.close()

    run(go())


def _partition(record: LogRecord) -> int:
    return partition_of(record.app_id, partition_key(record.device_id, record.user_id), PARTITIONS)


def _two_partitions(app_id: str, user: int) -> tuple[str, str]:
    """Two device ids of one user whose records are in different partitions."""
    first = f"xa-{user}"
    home = partition_of(app_id, first, PARTITIONS)
    n = 0
    while partition_of(app_id, f"xb-{user}-{n}", PARTITIONS) == home:
        n += 1
    return first, f"xb-{user}-{n}"


def test_a_user_on_devices_in_two_partitions_keeps_one_state(
    js_backend: Backend, tmp_path: Path
) -> None:
    users = range(10)

    async def sign_ups(store: Store, s: Setup) -> None:
        pairs = {u: _two_partitions(s.app_id, u) for u in users}
        uploads = [
            upload(
                store,
                s.app_id,
                device,
                f"x-{u}",
                [event(f"{device}-s{r}", "Signed Up", T0 + r)],
            )
            for r in range(2)
            for u in users
            for device in pairs[u]
        ]
        await asyncio.gather(*uploads)

    async def go() -> None:
        single = await on_sqlite(tmp_path, 2, [sign_ups])
        spread, store = await _on_jetstream(js_backend, 2, [sign_ups])
        await store.close()
        for got in (single, spread):
            per_user: dict[str, list[str]] = defaultdict(list)
            for device, made in got["decisions"].items():
                user = device.split("-")[1]
                per_user[user] += [status for _, status in made]
            # Four sign-ups per user over two devices: the per-person limit of two holds.
            assert {u: sorted(x) for u, x in per_user.items()} == {
                str(u): ["CAMPAIGN_CAP", "CAMPAIGN_CAP", "SUCCESS", "SUCCESS"] for u in users
            }
            assert len(got["calls"]) == 2 * len(users)

    run(go())


def test_a_decision_follows_its_triggering_event_when_the_person_was_seen_on_another_device(
    js_backend: Backend,
) -> None:
    """A user seen on a phone, then through Segment with a user id only: the decision of the
    Segment event is logged under that user, in that event's partition, not the phone's."""

    async def go() -> None:
        store = await js_backend.open()
        try:
            s = await setup(store, 2)
            phone = next(
                f"phone-{n}"
                for n in range(100)
                if partition_of(s.app_id, f"phone-{n}", PARTITIONS)
                != partition_of(s.app_id, "sam", PARTITIONS)
            )
            runner = consumers(store)
            await upload(store, s.app_id, phone, "sam", [event("e1", "Signed Up", T0)])
            await runner.run_until_idle()  # sam is now known on the phone
            message = {"type": "track", "messageId": "m1", "userId": "sam", "event": "Signed Up"}
            record = {"id": "m1", "name": "Signed Up", "type": "custom", "timestamp": T0 + 1}
            payload = {"source": "segment", "appId": s.app_id, "event": record, "message": message}
            segment = EventIn(
                "m1", "Signed Up", "custom", T0 + 1, orjson.dumps(payload), None, "sam"
            )
            await store.ingest(s.app_id, [segment], arrival_ms=T0)
            await runner.run_until_idle()
            log = await store.read_log(0, 1000)
            by_event = {decision_of(r)["eventId"]: r for r in log if r.kind == "decision"}
            assert sorted(by_event) == ["e1", "m1"]
            events = {r.item_id: r for r in log if r.kind == "event"}
            for event_id, decision in by_event.items():
                assert _partition(decision) == _partition(events[event_id])
                assert decision.seq > events[event_id].seq
            assert (by_event["m1"].device_id, by_event["m1"].user_id) == (None, "sam")
            assert by_event["e1"].device_id == phone
        finally:
            await store.close()

    run(go())


def test_a_partition_batch_handled_twice_decides_once(js_backend: Backend) -> None:
    """Two processes with the same partition batch (a lease lost mid-batch): the second finds
    the partition's cursor moved and writes nothing; the stream holds each decision once."""

    async def go() -> None:
        one, two = await js_backend.open(), await js_backend.open()
        try:
            s = await setup(one, 2)
            for device in ANONYMOUS[:6]:
                await upload(one, s.app_id, device, None, [event(f"{device}-s", "Signed Up", T0)])
            cursor = partition_cursor(CURSOR, 0)
            batch = await one.read_after(cursor)
            assert batch
            await ServerCampaigns().handle(one, batch)
            with pytest.raises(BatchTaken):
                await ServerCampaigns().handle(two, batch)
            log = await one.read_log(0, 1000)
            decided = [decision_of(r)["eventId"] for r in log if r.kind == "decision"]
            assert sorted(decided) == sorted(r.item_id for r in batch)
            assert await one.get_cursor(cursor) == batch[-1].seq
        finally:
            await two.close()
            await one.close()

    run(go())
