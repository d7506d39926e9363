"""Many writers at once: every item stored once, sequence numbers in commit order, group commit."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from storage_support import PG_BASE, T0, Backend, event, new_app, run, stored_ids


def test_many_concurrent_appends_store_each_event_once(sql_backend: Backend) -> None:
    async def go() -> None:
        async with await sql_backend.open() as store:
            app = await new_app(store)
            # 40 requests of 25 events drawn from 300 ids, so they overlap heavily.
            batches = [[event(f"e{(i * 7 + j) % 300}") for j in range(25)] for i in range(40)]
            results = await asyncio.gather(
                *(store.ingest(app.app_id, b, arrival_ms=T0) for b in batches)
            )
            accepted = sum(r.outcome.accepted for r in results if r.outcome)
            expected = {e.id for b in batches for e in b}
            ids = await stored_ids(store)
            assert sorted(ids) == sorted(expected)
            assert accepted == len(expected)
            catalog = {e.name: e.count for e in await store.event_catalog(app.app_id)}
            assert catalog["PurchaseCompleted"] == len(expected)

    run(go())


def test_waiting_writes_share_one_commit(sql_backend: Backend) -> None:
    async def go() -> None:
        async with await sql_backend.open() as store:
            app = await new_app(store)
            engine = store.engine
            before = (engine.stats.groups, engine.stats.jobs)
            engine.hold()
            tasks = [
                asyncio.create_task(store.ingest(app.app_id, [event(f"e{i}")], arrival_ms=T0))
                for i in range(30)
            ]
            for _ in range(5):  # let every task enqueue its write
                await asyncio.sleep(0)
            engine.release()
            await asyncio.gather(*tasks)
            groups = engine.stats.groups - before[0]
            jobs = engine.stats.jobs - before[1]
            assert jobs == 30
            assert groups == 1
            assert engine.stats.largest_group >= 30
            assert len(await stored_ids(store)) == 30

    run(go())


def test_a_failing_write_does_not_take_its_group_down(sql_backend: Backend) -> None:
    async def go() -> None:
        async with await sql_backend.open() as store:
            app = await new_app(store)
            store.engine.hold()
            good = [
                asyncio.create_task(store.ingest(app.app_id, [event(f"e{i}")], arrival_ms=T0))
                for i in range(5)
            ]
            bad = asyncio.create_task(store.rotate_keys("app_missing"))
            for _ in range(5):
                await asyncio.sleep(0)
            store.engine.release()
            await asyncio.gather(*good)
            try:
                await bad
                raise AssertionError("rotating keys of an unknown app must fail")
            except LookupError:
                pass
            assert len(await stored_ids(store)) == 5

    run(go())


def test_two_stores_on_one_database_keep_seq_in_commit_order(sql_backend: Backend) -> None:
    """Two processes' worth of writers: ids unique, seq strictly increasing, nothing lost."""

    async def go() -> None:
        one = await sql_backend.open()
        two = await sql_backend.open()
        try:
            app = await new_app(one)

            async def writer(store: object, prefix: str) -> None:
                for i in range(15):
                    await store.ingest(  # type: ignore[attr-defined]
                        app.app_id,
                        [event(f"{prefix}{i}-{j}") for j in range(10)],
                        arrival_ms=T0,
                    )

            async def reader() -> list[int]:
                seen: list[int] = []
                for _ in range(40):
                    for r in await two.read_after("watch", 1000):
                        seen.append(r.seq)
                        await two.commit_cursor("watch", r.seq)
                    await asyncio.sleep(0)
                return seen

            _, _, seen = await asyncio.gather(writer(one, "a"), writer(two, "b"), reader())
            seen += [r.seq for r in await two.read_after("watch", 10_000)]
            assert seen == sorted(set(seen))
            assert len(seen) == 300
            assert len(await stored_ids(one)) == 300
        finally:
            await one.close()
            await two.close()

    run(go())


@pytest.mark.reliability
def test_writer_recovers_from_a_dropped_connection(sql_backend: Backend) -> None:
    """A database restart or a dropped idle connection costs a reconnect, not a failed write."""

    async def go() -> None:
        async with await sql_backend.open() as store:
            app = await new_app(store)
            await store.ingest(app.app_id, [event("e1")], arrival_ms=T0)
            writer = store.engine._writer_conn
            if sql_backend.name == "postgresql":  # the server kills the session, as on a restart
                with psycopg.connect(PG_BASE, autocommit=True) as admin:
                    admin.execute("SELECT pg_terminate_backend(%s)", (writer.info.backend_pid,))
            else:
                writer.close()
            result = await store.ingest(app.app_id, [event("e2")], arrival_ms=T0)
            assert result.outcome is not None and result.outcome.accepted == 1
            assert await stored_ids(store) == ["e1", "e2"]

    run(go())


@pytest.mark.reliability
def test_readers_recover_from_a_dropped_connection(sql_backend: Backend) -> None:
    async def go() -> None:
        async with await sql_backend.open(read_threads=1) as store:
            app = await new_app(store)
            await store.ingest(app.app_id, [event("e1")], arrival_ms=T0)
            assert await stored_ids(store) == ["e1"]
            (reader,) = store.engine._readers
            if sql_backend.name == "postgresql":
                with psycopg.connect(PG_BASE, autocommit=True) as admin:
                    admin.execute("SELECT pg_terminate_backend(%s)", (reader.info.backend_pid,))
            else:
                reader.close()
            assert await stored_ids(store) == ["e1"]

    run(go())
