"""Catalogs and campaign stats from a JetStream log: counted by the counting consumer, in
batches, once per log position however often a batch is handed over."""

from __future__ import annotations

import pytest
from storage_support import T0, Backend, decision, event, new_app, run

from tidings.core.partitions import partition_key, partition_of
from tidings.pipeline import build_pipeline
from tidings.pipeline.counting import Counting
from tidings.storage import LogRecord

pytestmark = pytest.mark.nats


def test_the_counting_consumer_keeps_catalogs_and_stats_once(js_backend: Backend) -> None:
    async def go() -> None:
        async with await js_backend.open() as store:
            assert not store.counts_on_append
            app = await new_app(store)
            events = [event(f"e{i}", device_id=f"d{i % 5}") for i in range(20)]
            events += [
                event(f"s{i}", "CampaignShown", type_="system", properties={"campaignId": "c_1"})
                for i in range(3)
            ]
            await store.ingest(app.app_id, events, [decision("d1"), decision("d2")], arrival_ms=T0)
            assert (await store.campaign_stats("c_1")).decisions == {}  # not on append
            await build_pipeline(store).runner.run_until_idle()
            stats = await store.campaign_stats("c_1")
            assert (stats.decisions, stats.shown) == ({"SUCCESS": 2}, 3)
            catalog = {(e.name, e.type): e.count for e in await store.event_catalog(app.app_id)}
            assert catalog[("PurchaseCompleted", "custom")] == 20
            assert catalog[("CampaignShown", "system")] == 3

            # Every batch handed over again (a lost lease, a crash): nothing counted twice.
            by_partition: dict[int, list[LogRecord]] = {}
            for r in await store.read_log(0, 1000):
                key = partition_key(r.device_id, r.user_id)
                by_partition.setdefault(partition_of(r.app_id, key, store.partitions), []).append(r)
            counting = Counting(store)
            for batch in by_partition.values():
                await counting.handle(batch)
            again = {(e.name, e.type): e.count for e in await store.event_catalog(app.app_id)}
            assert again == catalog
            assert (await store.campaign_stats("c_1")).decisions == {"SUCCESS": 2}

    run(go())


def test_a_log_that_counts_on_append_has_no_counting_consumer(backend: Backend) -> None:
    async def go() -> None:
        async with await backend.open() as store:
            assert store.counts_on_append
            assert await Counting(store).consumers(store) == []

    run(go())
