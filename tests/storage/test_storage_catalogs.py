"""The catalogs are bounded per app (new event names refused, new property keys not
catalogued past the limit) and read a page at a time."""

from __future__ import annotations

from storage_support import Backend, event, new_app, run, stored_ids

from tidings.core.events import SYSTEM_EVENT_NAMES
from tidings.storage import CatalogLimits


def test_new_event_names_past_the_default_limit_are_refused(backend: Backend) -> None:
    async def go() -> None:
        async with await backend.open() as store:
            app = (await new_app(store)).app_id
            first = [event(f"e{i}", f"name-{i}") for i in range(1000)]
            outcome = (await store.ingest(app, first, arrival_ms=1)).outcome
            assert outcome is not None and outcome.accepted == 1000 and outcome.refused == []
            more = [
                event("x1", "name-1000"),
                event("x2", "name-3"),  # already in the catalog: keeps working
                event("x3", "SessionStarted", type_="system", properties={"type": "cold"}),
                event("x4", "name-1000"),
            ]
            outcome = (await store.ingest(app, more, arrival_ms=2)).outcome
            assert outcome is not None
            assert list(outcome.events) == [False, True, True, False]
            assert list(outcome.refused) == [0, 3]
            assert (outcome.accepted, outcome.duplicates) == (2, 0)
            assert "x1" not in await stored_ids(store) and "x4" not in await stored_ids(store)
            assert await store.catalog_sizes(app) == (1000, 0)
            # A retry of the refused event is refused again, not counted as a duplicate.
            again = (await store.ingest(app, [event("x1", "name-1000")], arrival_ms=3)).outcome
            assert again is not None and list(again.refused) == [0] and again.duplicates == 0

    run(go())


def test_limits_are_per_app_and_configurable(backend: Backend) -> None:
    async def go() -> None:
        async with await backend.open() as store:
            one, two = (await new_app(store, "one")).app_id, (await new_app(store, "two")).app_id
            limits = CatalogLimits(event_names=2, property_keys=2)
            batch = [event(f"a{i}", f"n{i % 3}") for i in range(6)]  # n0 n1 n2 n0 n1 n2
            outcome = (await store.ingest(one, batch, arrival_ms=1, catalog_limits=limits)).outcome
            assert outcome is not None and list(outcome.refused) == [2, 5]
            # Another app has its own room.
            other = [event(f"b{i}", f"n{i}") for i in range(2)]
            outcome = (await store.ingest(two, other, arrival_ms=1, catalog_limits=limits)).outcome
            assert outcome is not None and outcome.accepted == 2
            # Lowering the limit below what an app has keeps its names working.
            lower = CatalogLimits(event_names=1, property_keys=1)
            outcome = (
                await store.ingest(one, [event("a9", "n1")], arrival_ms=2, catalog_limits=lower)
            ).outcome
            assert outcome is not None and outcome.accepted == 1

    run(go())


def test_property_keys_past_the_limit_are_not_catalogued(backend: Backend) -> None:
    async def go() -> None:
        async with await backend.open() as store:
            app = (await new_app(store)).app_id
            limits = CatalogLimits(event_names=10, property_keys=3)
            props = {f"k{i}": i for i in range(5)}
            outcome = (
                await store.ingest(
                    app,
                    [event("e1")],
                    arrival_ms=1,
                    custom_properties=props,
                    catalog_limits=limits,
                )
            ).outcome
            assert outcome is not None and outcome.accepted == 1  # the event is still stored
            keys = await store.property_catalog(app)
            assert [(p.key, p.type) for p in keys] == [
                ("k0", "number"),
                ("k1", "number"),
                ("k2", "number"),
            ]
            # Known keys still change type; new ones still do not get in.
            await store.ingest(
                app,
                [event("e2")],
                arrival_ms=2,
                custom_properties={"k1": "text", "k4": 1, "k0": 5},
                catalog_limits=limits,
            )
            keys = await store.property_catalog(app)
            assert [(p.key, p.type) for p in keys] == [
                ("k0", "number"),
                ("k1", "mixed"),
                ("k2", "number"),
            ]
            assert await store.catalog_sizes(app) == (1, 3)

    run(go())


def test_one_upload_of_many_new_keys_is_bounded(backend: Backend) -> None:
    """One user map of 5,000 keys used to add 5,000 catalog rows in one request."""

    async def go() -> None:
        async with await backend.open() as store:
            app = (await new_app(store)).app_id
            props = {f"key-{i}": "v" for i in range(5000)}
            await store.ingest(app, [event("e1")], arrival_ms=1, custom_properties=props)
            assert await store.catalog_sizes(app) == (1, 1000)

    run(go())


def test_catalogs_are_read_a_page_at_a_time(backend: Backend) -> None:
    async def go() -> None:
        async with await backend.open() as store:
            app = (await new_app(store)).app_id
            names = [f"ev-{i:03d}" for i in range(250)]
            await store.ingest(
                app,
                [event(f"e{i}", name) for i, name in enumerate(names)]
                + [event("s1", "SessionStarted", type_="system", properties={"type": "cold"})],
                arrival_ms=1,
                custom_properties={f"p{i:03d}": i for i in range(30)},
            )
            seen: list[tuple[str, str]] = []
            after: tuple[str, str] | None = None
            while True:
                page = await store.event_catalog(app, after=after, limit=100)
                seen += [(e.type, e.name) for e in page]
                if len(page) < 100:
                    break
                after = (page[-1].type, page[-1].name)
            expected = [("custom", n) for n in names] + [
                ("system", n) for n in sorted(SYSTEM_EVENT_NAMES)
            ]
            assert seen == expected
            whole = await store.event_catalog(app)
            assert [(e.type, e.name) for e in whole] == expected
            started = next(e for e in whole if e.name == "SessionStarted")
            assert started.count == 1
            keys = await store.property_catalog(app, after=("p009",), limit=5)
            assert [p.key for p in keys] == ["p010", "p011", "p012", "p013", "p014"]

    run(go())
