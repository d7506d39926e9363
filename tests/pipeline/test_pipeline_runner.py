"""The pipeline runner on every backend: every record at least once, in order, resumable, and
one process at a time per consumer (leases)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from pipeline_support import log_events, make_app
from storage_support import Backend, run

from tidings.pipeline import Consumer, PipelineRunner
from tidings.storage import LogRecord, MemoryStore


async def _until(predicate: object, rounds: int = 2000) -> None:
    for _ in range(rounds):
        if predicate():  # type: ignore[operator]
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


def test_every_record_once_in_order_and_resumes_after_a_restart(backend: Backend) -> None:
    seen: list[str] = []
    fail_after = [3]

    async def handle(records: Sequence[LogRecord]) -> None:
        if fail_after[0] == 0:
            raise RuntimeError("crash")
        fail_after[0] -= 1
        seen.extend(r.item_id for r in records)

    async def main() -> None:
        store = await backend.open()
        app_id = await make_app(store)
        ids = await log_events(store, app_id, 120)
        consumer = Consumer("test:ordered", handle, batch_size=25)
        runner = PipelineRunner(store, consumers=[consumer], providers=[], services={})
        runner.idle_seconds = 0.05
        await runner.start()
        await _until(lambda: runner.status["test:ordered"].errors > 0)
        await runner.stop()
        assert seen == ids[:75]  # three batches, then the handler failed: cursor stays at 75
        assert await store.get_cursor("test:ordered") == (await store.read_log(0, 1000))[74].seq
        await store.close()

        fail_after[0] = 1000
        store = await backend.open()
        runner = PipelineRunner(store, consumers=[consumer], providers=[], services={})
        runner.idle_seconds = 0.05
        async with runner:
            await _until(lambda: len(seen) == 120)
            more = await log_events(store, app_id, 10, start=500)
            await _until(lambda: len(seen) == 130)
        assert seen == ids + more
        assert await store.list_leases() == []  # given back on a clean stop
        await store.close()

    run(main())


def test_a_sync_handler_runs_on_a_thread(backend: Backend) -> None:
    got: list[int] = []

    def handle(records: Sequence[LogRecord]) -> None:
        got.extend(r.seq for r in records)

    async def main() -> None:
        store = await backend.open()
        app_id = await make_app(store)
        await log_events(store, app_id, 30)
        runner = PipelineRunner(store, consumers=[Consumer("test:sync", handle)], providers=[])
        runner.services = {}
        await runner.run_until_idle()
        assert len(got) == 30 and got == sorted(got)
        assert await store.get_cursor("test:sync") == got[-1]
        await store.close()

    run(main())


def test_two_processes_never_handle_one_consumer_at_once(backend: Backend) -> None:
    """Two stores on one database stand for two processes: the lease keeps the consumer's
    batches strictly one after another, and together they still see every record."""
    active = [0]
    overlaps = [0]
    seen: list[str] = []

    async def handle(records: Sequence[LogRecord]) -> None:
        active[0] += 1
        if active[0] > 1:
            overlaps[0] += 1
        await asyncio.sleep(0.01)
        seen.extend(r.item_id for r in records)
        active[0] -= 1

    async def main() -> None:
        first = await backend.open()
        second = await backend.open()
        app_id = await make_app(first)
        ids = await log_events(first, app_id, 200)
        consumer = Consumer("test:shared", handle, batch_size=10)
        runners = [
            PipelineRunner(s, consumers=[consumer], providers=[], services={}, lease_ms=60_000)
            for s in (first, second)
        ]
        for r in runners:
            r.idle_seconds = 0.05
            await r.start()
        await _until(lambda: len(set(seen)) == 200)
        for r in runners:
            await r.stop()
        assert overlaps[0] == 0
        assert sorted(set(seen)) == ids
        leased = [r.status["test:shared"].batches for r in runners]
        assert sum(leased) >= 20 and 0 in leased  # one holder did it all while it was alive
        await first.close()
        await second.close()

    run(main())


def test_a_lost_lease_refuses_the_late_commit(backend: Backend) -> None:
    async def main() -> None:
        store = await backend.open()
        assert await store.acquire_lease("c", "a", ttl_ms=60_000)
        assert not await store.acquire_lease("c", "b", ttl_ms=60_000)
        assert await store.commit_cursor_leased("c", 5, "a")
        assert not await store.commit_cursor_leased("c", 9, "b")
        assert not await store.acquire_lease("c", "a", ttl_ms=-1)  # renewed into the past
        assert await store.acquire_lease("c", "b", ttl_ms=60_000)  # taken over
        assert not await store.commit_cursor_leased("c", 7, "a")  # the old holder is fenced
        assert await store.get_cursor("c") == 5
        await store.close()

    run(main())


def test_the_runner_needs_only_the_store_roles() -> None:
    """No SQL needed: an in-memory store drives consumers, leases and cursors alike."""
    seen: list[str] = []

    async def handle(records: Sequence[LogRecord]) -> None:
        seen.extend(r.item_id for r in records)

    async def main() -> None:
        store = MemoryStore()
        app_id = await make_app(store)
        ids = await log_events(store, app_id, 30)
        consumer = Consumer("test:memory", handle, batch_size=7)
        runner = PipelineRunner(store, consumers=[consumer], providers=[], services={})
        runner.idle_seconds = 0.05
        async with runner:
            await _until(lambda: len(seen) == 30)
        assert seen == ids
        assert await store.get_cursor("test:memory") == await store.last_seq()
        assert await store.list_leases() == []  # given back on a clean stop

    run(main())
