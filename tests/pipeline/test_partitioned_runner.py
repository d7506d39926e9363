"""Consumers on a partitioned log: one consumer per partition, shared by several processes,
rebalanced when one joins or leaves; every record handled, each device's in order."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from pipeline_support import log_events, make_app
from storage_support import Backend, run

from tidings.core.partitions import split_cursor
from tidings.pipeline import Consumer, PipelineRunner
from tidings.storage import Lease, LogRecord

pytestmark = pytest.mark.nats


class Collector:
    """A consumer handler remembering who handled what."""

    def __init__(self, who: str, into: dict[str, list[str]], seen: list[str]) -> None:
        self.who = who
        self.into = into
        self.seen = seen

    async def __call__(self, rows: Sequence[LogRecord]) -> None:
        for r in rows:
            self.into.setdefault(r.device_id or "", []).append(r.item_id)
            self.seen.append(self.who)


async def _until(predicate: object, seconds: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not predicate():  # type: ignore[operator]
        if loop.time() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.05)


def test_two_processes_share_the_partitions_and_take_over(js_backend: Backend) -> None:
    async def go() -> None:
        one, two = await js_backend.open(), await js_backend.open()
        assert one.partitions == 4
        by_device: dict[str, list[str]] = {}
        handled_by: list[str] = []

        def runner(store: object, who: str) -> PipelineRunner:
            sink = Consumer("sink", Collector(who, by_device, handled_by), batch_size=50)
            return PipelineRunner(
                store,  # type: ignore[arg-type]
                consumers=[sink],
                holder=who,
                lease_ms=600,
                idle_seconds=0.2,
                refresh_seconds=0.2,
            )

        first, second = runner(one, "first"), runner(two, "second")
        try:
            app_id = await make_app(one)
            await first.start()
            await second.start()

            def spread() -> bool:
                # Balanced: each process holds its share (a partition moving between the two
                # is briefly held by neither, so wait for the settled state).
                held = sorted(x.holder for x in leases if split_cursor(x.name)[1] is not None)
                return held == ["first", "first", "second", "second"]

            leases: list[Lease] = []

            async def refresh_leases() -> bool:
                leases[:] = await one.list_leases()
                return spread()

            for _ in range(100):
                if await refresh_leases():
                    break
                await asyncio.sleep(0.1)
            assert spread(), leases
            owned = [x.holder for x in leases if split_cursor(x.name)[1] is not None]
            assert sorted(owned) == ["first", "first", "second", "second"]

            ids = await log_events(one, app_id, 300, devices=12)
            await _until(lambda: len({x for v in by_device.values() for x in v}) >= 300)
            assert set(handled_by) == {"first", "second"}

            await first.stop()  # leaves: its partitions go to the other process
            more = await log_events(two, app_id, 120, devices=12, start=300)
            await _until(lambda: len({x for v in by_device.values() for x in v}) >= 420)
        finally:
            await first.stop()
            await second.stop()
            await one.close()
            await two.close()
        everything = ids + more
        # At least once: a batch whose lease was lost on the way may come twice.
        assert {x for v in by_device.values() for x in v} == set(everything)
        for device, got in by_device.items():
            first_seen = list(dict.fromkeys(got))
            assert first_seen == sorted(first_seen), device  # per-device order

    run(go())


def test_processes_started_together_split_a_new_consumer_at_once(js_backend: Backend) -> None:
    """A consumer that appears while two processes are running (a destination enabled) is split
    between them from its first batches: neither takes more than its share on the way (its
    partitions' acquisitions overlap), and each takes the partitions that fall to it first."""

    async def go() -> None:
        one, two = await js_backend.open(), await js_backend.open()
        by_device: dict[str, list[str]] = {}
        handled_by: list[str] = []
        enabled = asyncio.Event()

        def runner(store: object, who: str) -> PipelineRunner:
            sink = Consumer("late", Collector(who, by_device, handled_by), batch_size=1000)

            async def provider(_store: object) -> list[Consumer]:
                return [sink] if enabled.is_set() else []

            # A long lease: a partition left to a later pause would wait 20 s, longer than the
            # test waits for every record, so only the first claims are seen.
            return PipelineRunner(
                store,  # type: ignore[arg-type]
                providers=[provider],  # type: ignore[list-item]
                holder=who,
                lease_ms=60_000,
                idle_seconds=0.2,
                refresh_seconds=0.1,
            )

        first, second = runner(one, "first"), runner(two, "second")
        try:
            app_id = await make_app(one)
            ids = await log_events(one, app_id, 200, devices=16)
            await first.start()
            await second.start()
            await first._announce()  # both know both before the consumer appears
            enabled.set()
            await _until(lambda: len({x for v in by_device.values() for x in v}) >= 200, 15)
        finally:
            await first.stop()
            await second.stop()
            await one.close()
            await two.close()
        assert {x for v in by_device.values() for x in v} == set(ids)
        assert handled_by.count("first") > 0
        assert handled_by.count("second") > 0

    run(go())
