"""Event log: idempotency, request replay, ordering, cursors, time ranges.

Every event log keeps these rules (``log_backend``: memory, SQLite, PostgreSQL and JetStream);
the few that need the log and the database in one transaction run on ``backend``.
"""

from __future__ import annotations

import asyncio

import orjson
import pytest
from storage_support import T0, Backend, decision, event, new_app, render, run, stored_ids


def test_same_event_twice_is_stored_once(log_backend: Backend) -> None:
    """A log in a database knows every id it holds. A JetStream log deduplicates whole
    messages (a retried upload) and stores a record resent inside another upload again;
    consumers deduplicate by event id (docs/scale-out.md, "Deduplication")."""

    async def go() -> None:
        async with await log_backend.open() as store:
            app = await new_app(store)
            first = await store.ingest(app.app_id, [event("e1"), event("e2")], arrival_ms=T0)
            again = await store.ingest(app.app_id, [event("e2"), event("e3")], arrival_ms=T0)
            assert first.outcome is not None and again.outcome is not None
            assert list(first.outcome.events) == [True, True]
            if log_backend.name == "jetstream":
                assert list(again.outcome.events) == [True, True]
                assert await stored_ids(store) == ["e1", "e2", "e2", "e3"]
                return
            assert list(again.outcome.events) == [False, True]
            assert (again.outcome.accepted, again.outcome.duplicates) == (1, 1)
            assert await stored_ids(store) == ["e1", "e2", "e3"]

    run(go())


def test_a_retried_upload_is_stored_once(log_backend: Backend) -> None:
    """Every log: the same records sent again (a client retrying a batch) are duplicates."""

    async def go() -> None:
        async with await log_backend.open() as store:
            app = await new_app(store)
            batch = [event(f"e{i}", device_id=f"d{i % 3}") for i in range(9)]
            first = await store.ingest(app.app_id, batch, [decision("d1")], arrival_ms=T0)
            again = await store.ingest(app.app_id, batch, [decision("d1")], arrival_ms=T0 + 9)
            assert first.outcome is not None and again.outcome is not None
            assert (first.outcome.accepted, first.outcome.duplicates) == (9, 0)
            assert (again.outcome.accepted, again.outcome.duplicates) == (0, 9)
            assert list(again.outcome.decisions) == [False]
            assert sorted(await stored_ids(store)) == sorted(f"e{i}" for i in range(9))
            assert await stored_ids(store, "decision") == ["d1"]

    run(go())


def test_duplicate_inside_one_batch_counts_once(log_backend: Backend) -> None:
    async def go() -> None:
        async with await log_backend.open() as store:
            app = await new_app(store)
            result = await store.ingest(
                app.app_id, [event("e1"), event("e1"), event("e2")], arrival_ms=T0
            )
            assert result.outcome is not None
            assert list(result.outcome.events) == [True, False, True]
            assert await stored_ids(store) == ["e1", "e2"]

    run(go())


def test_same_decision_twice_is_stored_once(log_backend: Backend) -> None:
    async def go() -> None:
        async with await log_backend.open() as store:
            app = await new_app(store)
            one = await store.ingest(app.app_id, [], [decision("d1")], arrival_ms=T0)
            two = await store.ingest(
                app.app_id, [], [decision("d1"), decision("d2")], arrival_ms=T0
            )
            assert one.outcome is not None and two.outcome is not None
            assert list(one.outcome.decisions) == [True]
            if log_backend.name == "jetstream":  # another message: see the test above
                assert list(two.outcome.decisions) == [True, True]
                return
            assert list(two.outcome.decisions) == [False, True]
            assert await stored_ids(store, "decision") == ["d1", "d2"]

    run(go())


def test_decisions_are_counted_once_at_append(backend: Backend) -> None:
    """Where the log is in the database, the stats are written in the append's transaction."""

    async def go() -> None:
        async with await backend.open() as store:
            app = await new_app(store)
            await store.ingest(app.app_id, [], [decision("d1")], arrival_ms=T0)
            await store.ingest(app.app_id, [], [decision("d1"), decision("d2")], arrival_ms=T0)
            stats = await store.campaign_stats("c_1")
            assert stats.decisions == {"SUCCESS": 2}

    run(go())


def test_event_and_decision_ids_are_separate_namespaces_per_app(log_backend: Backend) -> None:
    async def go() -> None:
        async with await log_backend.open() as store:
            a = await new_app(store, "a")
            b = await new_app(store, "b")
            await store.ingest(a.app_id, [event("x")], [decision("x")], arrival_ms=T0)
            other = await store.ingest(b.app_id, [event("x")], [decision("x")], arrival_ms=T0)
            assert other.outcome is not None
            assert list(other.outcome.events) == [True]
            assert list(other.outcome.decisions) == [True]
            assert len(await store.read_log(0)) == 4

    run(go())


def test_same_request_id_replays_the_first_response(log_backend: Backend) -> None:
    async def go() -> None:
        async with await log_backend.open() as store:
            app = await new_app(store)
            first = await store.ingest(
                app.app_id,
                [event("e1"), event("e1")],
                [decision("d1")],
                arrival_ms=T0,
                request_id="req-1",
                render=render,
            )
            assert not first.replayed and first.response is not None
            assert orjson.loads(first.response.body)["accepted"] == 1
            seq_before = await store.last_seq()
            retry = await store.ingest(
                app.app_id,
                [event("e1"), event("e9")],
                [decision("d9")],
                arrival_ms=T0 + 5,
                request_id="req-1",
                render=render,
            )
            assert retry.replayed and retry.outcome is None
            assert retry.response == first.response
            assert await store.last_seq() == seq_before  # nothing written by the replay
            assert await store.stored_response(app.app_id, "req-1") == first.response
            assert await store.stored_response(app.app_id, "req-2") is None
            # A new request id with the same events: stored as duplicates, its own response.
            fresh = await store.ingest(
                app.app_id, [event("e1")], arrival_ms=T0, request_id="req-2", render=render
            )
            assert fresh.response is not None
            assert orjson.loads(fresh.response.body) == {
                "accepted": 0,
                "duplicates": 1,
                "rejected": [],
            }

    run(go())


def test_concurrent_retries_of_one_request_store_once(log_backend: Backend) -> None:
    async def go() -> None:
        async with await log_backend.open() as store:
            app = await new_app(store)
            events = [event(f"e{i}") for i in range(20)]
            results = await asyncio.gather(
                *(
                    store.ingest(
                        app.app_id, events, arrival_ms=T0, request_id="same", render=render
                    )
                    for _ in range(10)
                )
            )
            assert sum(not r.replayed for r in results) == 1
            assert len({r.response for r in results}) == 1
            assert len(await stored_ids(store)) == 20

    run(go())


def test_failed_render_rolls_back_the_whole_request(backend: Backend) -> None:
    """One transaction per request: the stores whose log is in the database roll back."""

    def broken(_: object) -> object:
        raise RuntimeError("render failed")

    async def go() -> None:
        async with await backend.open() as store:
            app = await new_app(store)
            with pytest.raises(RuntimeError):
                await store.ingest(
                    app.app_id,
                    [event("e1")],
                    arrival_ms=T0,
                    request_id="r",
                    render=broken,  # type: ignore[arg-type]
                )
            assert await stored_ids(store) == []
            assert await store.stored_response(app.app_id, "r") is None
            ok = await store.ingest(
                app.app_id, [event("e1")], arrival_ms=T0, request_id="r", render=render
            )
            assert not ok.replayed and ok.outcome is not None and ok.outcome.accepted == 1

    run(go())


def test_request_id_without_render_is_refused(log_backend: Backend) -> None:
    async def go() -> None:
        async with await log_backend.open() as store:
            app = await new_app(store)
            with pytest.raises(ValueError, match="render"):
                await store.ingest(app.app_id, [event("e1")], arrival_ms=T0, request_id="r")

    run(go())


def test_log_records_keep_payload_bytes_and_arrival(log_backend: Backend) -> None:
    async def go() -> None:
        async with await log_backend.open() as store:
            app = await new_app(store)
            ev = event("e1", properties={"price": 9.5})
            await store.ingest(app.app_id, [ev], [decision("d1")], arrival_ms=T0 + 42)
            records = await store.read_log(0)
            assert [r.kind for r in records] == ["event", "decision"]
            assert records[0].payload == ev.payload
            assert records[0].arrival_ms == T0 + 42
            assert records[0].timestamp == T0
            assert records[0].device_id == "dev-1"
            assert records[1].name == "c_1"
            assert records[0].seq < records[1].seq

    run(go())


def test_time_range_and_recent(log_backend: Backend) -> None:
    async def go() -> None:
        async with await log_backend.open() as store:
            a = await new_app(store, "a")
            b = await new_app(store, "b")
            await store.ingest(
                a.app_id, [event(f"a{i}", ts=T0 + i * 1000) for i in range(10)], arrival_ms=T0
            )
            await store.ingest(b.app_id, [event("b0", ts=T0 + 2000)], arrival_ms=T0)
            window = await store.read_time_range(a.app_id, T0 + 2000, T0 + 5000)
            assert [r.item_id for r in window] == ["a2", "a3", "a4"]
            page1 = await store.read_time_range(a.app_id, T0, T0 + 10_000, limit=4)
            page2 = await store.read_time_range(
                a.app_id, T0, T0 + 10_000, limit=4, after_seq=page1[-1].seq
            )
            assert [r.item_id for r in page1 + page2] == [f"a{i}" for i in range(8)]
            recent = await store.recent_events(a.app_id, 3)
            assert [r.item_id for r in recent] == ["a9", "a8", "a7"]

    run(go())


def test_prune_responses(log_backend: Backend) -> None:
    async def go() -> None:
        async with await log_backend.open() as store:
            app = await new_app(store)
            await store.ingest(app.app_id, [], arrival_ms=T0, request_id="old", render=render)
            await store.ingest(app.app_id, [], arrival_ms=T0 + 10, request_id="new", render=render)
            assert await store.prune_responses(T0 + 5) == 1
            assert await store.stored_response(app.app_id, "old") is None
            assert await store.stored_response(app.app_id, "new") is not None

    run(go())


def test_cursors_are_at_least_once_and_independent(log_backend: Backend) -> None:
    async def go() -> None:
        async with await log_backend.open() as store:
            app = await new_app(store)
            await store.ingest(app.app_id, [event(f"e{i}") for i in range(5)], arrival_ms=T0)
            first = await store.read_after("stats", 3)
            assert [r.item_id for r in first] == ["e0", "e1", "e2"]
            # Not committed: the same records come back.
            assert await store.read_after("stats", 3) == first
            await store.commit_cursor("stats", first[-1].seq)
            rest = await store.read_after("stats", 10)
            assert [r.item_id for r in rest] == ["e3", "e4"]
            # Another cursor is untouched.
            assert len(await store.read_after("amplitude", 10)) == 5
            # Commit never moves backwards; reset does.
            await store.commit_cursor("stats", 1)
            assert await store.get_cursor("stats") == first[-1].seq
            await store.reset_cursor("stats", 0)
            assert await store.get_cursor("stats") == 0
            assert await store.list_cursors() == {"stats": 0}

    run(go())


def test_cursor_resumes_after_reopen(log_backend: Backend) -> None:
    async def go() -> None:
        store = await log_backend.open()
        app = await new_app(store)
        await store.ingest(app.app_id, [event(f"e{i}") for i in range(4)], arrival_ms=T0)
        batch = await store.read_after("stream", 2)
        await store.commit_cursor("stream", batch[-1].seq)
        await store.close()

        store = await log_backend.open()
        try:
            assert [r.item_id for r in await store.read_after("stream", 10)] == ["e2", "e3"]
            await store.ingest(app.app_id, [event("e4")], arrival_ms=T0)
            assert [r.item_id for r in await store.read_after("stream", 10)] == [
                "e2",
                "e3",
                "e4",
            ]
        finally:
            await store.close()

    run(go())


def test_wait_for_append_wakes_consumers(log_backend: Backend) -> None:
    async def go() -> None:
        async with await log_backend.open() as store, await log_backend.open() as other:
            app = await new_app(store)
            assert not await store.wait_for_append(0, timeout=0.05)  # empty log
            waiter = asyncio.create_task(store.wait_for_append(0, timeout=30))
            await asyncio.sleep(0)
            await store.ingest(app.app_id, [event("e1")], arrival_ms=T0)
            assert await waiter
            last = await store.last_seq()
            # Appends by another store object (another process) are found by polling.
            store.poll_interval = 0.01
            waiter = asyncio.create_task(store.wait_for_append(last, timeout=30))
            await other.ingest(app.app_id, [event("e2")], arrival_ms=T0)
            assert await waiter
            assert await store.wait_for_append(0, timeout=0)

    run(go())
