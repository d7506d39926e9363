"""``count_batch``: catalogs folded from a log read back in batches keep the ingest's limits,
catalogue the uploads' custom-property maps, and count a batch handed over twice once."""

from __future__ import annotations

from storage_support import T0, Backend, decision, event, new_app, run

from tidings.storage import CatalogLimits, Counted

LIMITS = CatalogLimits(event_names=2, property_keys=2)


def test_count_batch_keeps_the_limits_and_counts_once(backend: Backend) -> None:
    async def go() -> None:
        async with await backend.open() as store:
            app = (await new_app(store)).app_id
            first = {"plan": "pro", "age": 3}
            second = {"plan": 4, "vip": True}  # plan turns mixed; vip is past the limit
            names = ["A", "B", "A", "C", "B", "C"]  # C is a third name: not counted
            batch = [
                Counted(
                    i + 1,
                    app,
                    event(f"e{i}", name, ts=T0 + i),
                    first if i < 3 else second,
                )
                for i, name in enumerate(names)
            ]
            batch.append(
                Counted(
                    7,
                    app,
                    event("s1", "SessionStarted", type_="system", properties={"type": "cold"}),
                )
            )
            assert await store.count_batch("counting@p0", batch, LIMITS) == 7
            catalog = {(e.name, e.type): e.count for e in await store.event_catalog(app)}
            assert {k: v for k, v in catalog.items() if v} == {
                ("A", "custom"): 2,
                ("B", "custom"): 2,
                ("SessionStarted", "system"): 1,
            }
            properties = [(p.key, p.type) for p in await store.property_catalog(app)]
            assert properties == [("age", "number"), ("plan", "mixed")]
            assert await store.catalog_sizes(app) == (2, 2)
            # Handed over again (a lost lease): nothing counted twice, the cursor stays.
            assert await store.count_batch("counting@p0", batch, LIMITS) == 0
            again = {(e.name, e.type): e.count for e in await store.event_catalog(app)}
            assert again == catalog
            assert await store.get_cursor("counting@p0") == 7
            # A known name keeps counting past the limit; a new one still does not.
            later = [Counted(8, app, event("e8", "B")), Counted(9, app, event("e9", "D"))]
            assert await store.count_batch("counting@p0", later, LIMITS) == 2
            final = {e.name: e.count for e in await store.event_catalog(app) if e.count}
            assert final["B"] == 3 and "D" not in final and "C" not in final

    run(go())


def test_campaign_stats_count_each_decision_and_campaign_event_once(backend: Backend) -> None:
    """A log outside the database stores a record resent inside another upload again: the
    stats still count its id once, even when the copies come in different batches."""

    async def go() -> None:
        async with await backend.open() as store:
            app = (await new_app(store)).app_id
            shown = event("sh1", "CampaignShown", type_="system", properties={"campaignId": "c_1"})
            first = [
                Counted(1, app, decision("d1")),
                Counted(2, app, shown),
                Counted(3, app, decision("d1")),  # the same decision again in the batch
                Counted(4, app, event("e1", "A")),
            ]
            assert await store.count_batch("counting@p0", first, LIMITS) == 4
            again = [  # the same records in another message, another partition's batch
                Counted(5, app, decision("d1")),
                Counted(6, app, shown),
                Counted(7, app, decision("d2")),
                Counted(8, app, event("e1", "A")),
            ]
            assert await store.count_batch("counting@p1", again, LIMITS) == 4
            stats = await store.campaign_stats("c_1")
            assert stats.decisions == {"SUCCESS": 2}
            assert stats.shown == 1
            # Other events are a tally per record.
            catalog = {e.name: e.count for e in await store.event_catalog(app)}
            assert catalog["A"] == 2

    run(go())
