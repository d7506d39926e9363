"""The log's batch rows: records numbered one by one, paging inside and across batches, shared
payload prefixes, partial duplicates, and the move of an existing per-row log to batches."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from storage_support import T0, Backend, event, new_app, run

from tidings.storage import EventIn, LogRecord, Store
from tidings.storage.migrations.postgres import MIGRATIONS as POSTGRES_MIGRATIONS
from tidings.storage.migrations.sqlite import MIGRATIONS as SQLITE_MIGRATIONS
from tidings.storage.postgres import PostgresStore
from tidings.storage.sqlite import SqliteStore


def prefixed(event_id: str, prefix: bytes, ts: int = T0) -> EventIn:
    rest = orjson.dumps({"id": event_id}) + b"}"
    return EventIn(event_id, "Viewed", "custom", ts, rest, "dev-1", None, None, prefix)


async def read_all(store: Store, page: int) -> list[LogRecord]:
    out: list[LogRecord] = []
    after = 0
    while batch := await store.read_log(after, page):
        assert len(batch) <= page
        out += batch
        after = batch[-1].seq
    return out


def test_records_page_one_by_one_through_batches(backend: Backend) -> None:
    async def go() -> None:
        async with await backend.open() as store:
            app = await new_app(store)
            head_a = b'{"device":"a","event":'
            head_b = b'{"device":"b","event":'
            sizes = [7, 1, 5, 3]
            expected: list[tuple[str, bytes]] = []
            for n, size in enumerate(sizes):
                items = [prefixed(f"r{n}-{i}", head_a if i % 2 else head_b) for i in range(size)]
                await store.ingest(app.app_id, items, arrival_ms=T0)
                expected += [(e.id, e.prefix + e.payload) for e in items]
            for page in (1, 2, 3, 5, 16, 1000):
                records = await read_all(store, page)
                assert [(r.item_id, r.payload) for r in records] == expected
                assert [r.seq for r in records] == list(range(1, sum(sizes) + 1))
            assert await store.last_seq() == sum(sizes)
            cursor_page = await store.read_after("c", 4)
            await store.commit_cursor("c", cursor_page[-1].seq)
            rest = await store.read_after("c", 100)
            assert [r.item_id for r in cursor_page + rest] == [i for i, _ in expected]

    run(go())


def test_partial_duplicates_keep_the_sequence_dense(backend: Backend) -> None:
    async def go() -> None:
        async with await backend.open() as store:
            app = await new_app(store)
            await store.ingest(app.app_id, [event("a"), event("b"), event("c")], arrival_ms=T0)
            result = await store.ingest(
                app.app_id,
                [event("b"), event("d"), event("d"), event("a"), event("e")],
                arrival_ms=T0,
            )
            assert result.outcome is not None
            assert list(result.outcome.events) == [False, True, False, False, True]
            everything = await store.read_log(0)
            assert [(r.seq, r.item_id) for r in everything] == [
                (1, "a"),
                (2, "b"),
                (3, "c"),
                (4, "d"),
                (5, "e"),
            ]
            nothing_new = await store.ingest(app.app_id, [event("e")], arrival_ms=T0)
            assert nothing_new.outcome is not None and nothing_new.outcome.accepted == 0
            assert await store.last_seq() == 5

    run(go())


def test_time_range_pages_inside_batches(backend: Backend) -> None:
    async def go() -> None:
        async with await backend.open() as store:
            app = await new_app(store)
            # Each upload mixes timestamps inside and outside the range [T0+10, T0+20).
            for n in range(4):
                stamps = [T0 + 5, T0 + 10 + n, T0 + 25, T0 + 15 + n, T0 + 19]
                await store.ingest(
                    app.app_id,
                    [event(f"u{n}-{i}", ts=ts) for i, ts in enumerate(stamps)],
                    arrival_ms=T0,
                )
            wanted = [f"u{n}-{i}" for n in range(4) for i in (1, 3, 4)]
            for limit in (1, 2, 4, 100):
                got: list[str] = []
                after = 0
                while page := await store.read_time_range(
                    app.app_id, T0 + 10, T0 + 20, after_seq=after, limit=limit
                ):
                    got += [r.item_id for r in page]
                    after = page[-1].seq
                assert got == wanted
            assert await store.read_time_range(app.app_id, T0 + 30, T0 + 40) == []

    run(go())


def test_recent_events_cross_batches_newest_first(backend: Backend) -> None:
    async def go() -> None:
        async with await backend.open() as store:
            app = await new_app(store)
            other = await new_app(store, "other")
            ids: list[str] = []
            for n in range(20):
                batch = [event(f"e{n}-{i}") for i in range(n % 3 + 1)]
                ids += [e.id for e in batch]
                await store.ingest(app.app_id, batch, arrival_ms=T0)
                await store.ingest(other.app_id, [event(f"x{n}")], arrival_ms=T0)
            for limit in (1, 5, 17, 100):
                recent = await store.recent_events(app.app_id, limit)
                assert [r.item_id for r in recent] == ids[::-1][:limit]

    run(go())


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    uploads=st.lists(
        st.lists(st.integers(min_value=0, max_value=30), min_size=1, max_size=12),
        min_size=1,
        max_size=6,
    ),
    page=st.integers(min_value=1, max_value=9),
)
def test_any_uploads_read_back_once_each_in_order(
    tmp_path_factory: pytest.TempPathFactory, uploads: list[list[int]], page: int
) -> None:
    """Whatever ids the uploads repeat, each distinct id is stored once, in first-seen order,
    and paging at any size reads exactly that back."""
    path = tmp_path_factory.mktemp("log") / "tidings.db"
    backend = Backend("sqlite", f"sqlite:///{path}", path=path)

    async def go() -> None:
        async with await backend.open() as store:
            app = await new_app(store)
            seen: list[str] = []
            for upload in uploads:
                await store.ingest(app.app_id, [event(f"id{i}") for i in upload], arrival_ms=T0)
                for i in upload:
                    if f"id{i}" not in seen:
                        seen.append(f"id{i}")
            records = await read_all(store, page)
            assert [r.item_id for r in records] == seen
            assert [r.seq for r in records] == list(range(1, len(seen) + 1))

    run(go())


def _old_rows(app_id: str) -> list[tuple[Any, ...]]:
    return [
        (app_id, "event", "old-1", "Viewed", T0, T0 + 1, b'{"n":1}', "dev-1", None),
        (app_id, "decision", "dec-1", "c_1", T0 + 1, T0 + 1, b'{"n":2}', "dev-1", "u-1"),
        (app_id, "event", "old-2", "Tapped", T0 + 2, T0 + 1, b'{"n":3}', None, "u-1"),
    ]


def test_a_per_row_log_moves_to_batches_with_its_numbers(
    sql_backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database written before batch rows (schema version 2) keeps every record, its
    sequence number and its consumers' cursors when it is opened by this version."""
    store_class = SqliteStore if sql_backend.name == "sqlite" else PostgresStore
    migrations = SQLITE_MIGRATIONS if sql_backend.name == "sqlite" else POSTGRES_MIGRATIONS
    assert [m[0] for m in migrations][:3] == [1, 2, 3]

    async def write_old() -> str:
        monkeypatch.setattr(store_class, "migrations", migrations[:2])
        async with await sql_backend.open() as store:
            app = await new_app(store)
            rows = _old_rows(app.app_id)

            def insert(tx: Any) -> None:
                for row in rows:
                    tx.execute(
                        "INSERT INTO event_log (app_id, kind, item_id, name, ts, arrival_ms,"
                        " payload, device_id, user_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        row,
                    )

            await store._engine.write(insert)
            await store.commit_cursor("stream", 2)
            return app.app_id

    app_id = run(write_old())
    monkeypatch.undo()

    async def read_new() -> None:
        async with await sql_backend.open() as store:
            records = await store.read_log(0)
            assert [
                (r.seq, r.kind, r.item_id, r.name, r.timestamp, r.payload, r.device_id, r.user_id)
                for r in records
            ] == [
                (1, "event", "old-1", "Viewed", T0, b'{"n":1}', "dev-1", None),
                (2, "decision", "dec-1", "c_1", T0 + 1, b'{"n":2}', "dev-1", "u-1"),
                (3, "event", "old-2", "Tapped", T0 + 2, b'{"n":3}', None, "u-1"),
            ]
            assert [r.item_id for r in await store.read_after("stream")] == ["old-2"]
            again = await store.ingest(app_id, [event("old-1"), event("new-1")], arrival_ms=T0)
            assert again.outcome is not None
            assert list(again.outcome.events) == [False, True]
            assert [(r.seq, r.item_id) for r in await store.read_log(3)] == [(4, "new-1")]

    run(read_new())
