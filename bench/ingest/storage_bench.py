"""Appends per second of 100-event batches: the Store on SQLite and PostgreSQL, side by side
with a minimal raw-``sqlite3`` baseline doing the same durable, deduplicated insert.

The baselines are the least a correct embedded log can do per request: one transaction in WAL mode
with ``synchronous=FULL``, 100 ``INSERT ... ON CONFLICT DO NOTHING`` rows against a unique
(app, id) index, commit. The Store does more per request (request-id claim and stored response,
catalog and stats upserts, per-item outcomes) and pays thread hand-offs, but with several
requests in flight group commit shares one fsync among them.

Run: ``.venv/bin/python bench/ingest/storage_bench.py [--batches 300] [--concurrency 1,16]``.
PostgreSQL is taken from ``TIDINGS_BENCH_PG`` (default the local test database; a scratch schema
is created and dropped).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import tempfile
import time
import uuid
from pathlib import Path

import orjson
import psycopg
from psycopg import sql

from tidings.storage import EventIn, IngestOutcome, StoredResponse, open_store

BATCH = 100
T0 = 1_764_300_000_000


def make_batches(n: int, tag: str) -> list[list[EventIn]]:
    out: list[list[EventIn]] = []
    for b in range(n):
        batch = []
        for j in range(BATCH):
            event_id = f"{tag}-{b:06d}-{j:03d}"
            record = {
                "id": event_id,
                "name": "PurchaseCompleted",
                "type": "custom",
                "timestamp": T0 + b,
                "sessionId": "s-1",
                "properties": {"price": 9.99, "plan": "annual", "j": j},
            }
            batch.append(
                EventIn(
                    id=event_id,
                    name="PurchaseCompleted",
                    type="custom",
                    timestamp=T0 + b,
                    payload=orjson.dumps(record),
                    device_id="dev-1",
                    properties=record["properties"],  # type: ignore[arg-type]
                )
            )
        out.append(batch)
    return out


def render(outcome: IngestOutcome) -> StoredResponse:
    return StoredResponse(
        200, orjson.dumps({"accepted": outcome.accepted, "duplicates": outcome.duplicates})
    )


def raw_postgres(base: str, schema: str, batches: list[list[EventIn]]) -> float:
    """Batches per second for the same durable dedup insert through bare psycopg."""
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        conn.execute(
            "CREATE TABLE log (seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
            " app_id TEXT NOT NULL, item_id TEXT NOT NULL, name TEXT NOT NULL,"
            " ts BIGINT NOT NULL, arrival_ms BIGINT NOT NULL, payload BYTEA NOT NULL,"
            " UNIQUE (app_id, item_id))"
        )
        start = time.perf_counter()
        for batch in batches:
            with conn.transaction():
                conn.execute(
                    "INSERT INTO log (app_id, item_id, name, ts, arrival_ms, payload)"
                    " SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::bigint[],"
                    " %s::bigint[], %s::bytea[]) ON CONFLICT (app_id, item_id) DO NOTHING",
                    [
                        ["app"] * len(batch),
                        [e.id for e in batch],
                        [e.name for e in batch],
                        [e.timestamp for e in batch],
                        [T0] * len(batch),
                        [e.payload for e in batch],
                    ],
                )
        return len(batches) / (time.perf_counter() - start)


def raw_sqlite(path: Path, batches: list[list[EventIn]]) -> float:
    """Batches per second for the bare-minimum durable dedup insert."""
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute(
        "CREATE TABLE log (seq INTEGER PRIMARY KEY, app_id TEXT NOT NULL, item_id TEXT NOT NULL,"
        " name TEXT NOT NULL, ts INTEGER NOT NULL, arrival_ms INTEGER NOT NULL,"
        " payload BLOB NOT NULL, UNIQUE (app_id, item_id))"
    )
    start = time.perf_counter()
    for batch in batches:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT INTO log (app_id, item_id, name, ts, arrival_ms, payload)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (app_id, item_id) DO NOTHING",
            [("app", e.id, e.name, e.timestamp, T0, e.payload) for e in batch],
        )
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return len(batches) / elapsed


async def store_rate(url: str, batches: list[list[EventIn]], concurrency: int) -> float:
    """Batches per second through ``Store.ingest`` with ``concurrency`` requests in flight."""
    store = await open_store(url, server_key=bytes(32))
    try:
        project = await store.create_project("bench")
        app = await store.create_app(project.id, "bench", "ios")
        queue = list(enumerate(batches))
        queue.reverse()

        async def worker() -> None:
            while queue:
                n, batch = queue.pop()
                await store.ingest(
                    app.app_id,
                    batch,
                    arrival_ms=T0,
                    request_id=f"req-{n}",
                    render=render,
                    custom_properties={"plan": "annual"},
                )

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
        return len(batches) / elapsed
    finally:
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=300)
    parser.add_argument("--concurrency", default="1,16")
    args = parser.parse_args()
    levels = [int(x) for x in args.concurrency.split(",")]
    pg_base = os.environ.get("TIDINGS_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        baseline = raw_sqlite(root / "raw.db", make_batches(args.batches, "raw"))
        print(f"events per batch: {BATCH}, batches per run: {args.batches}")
        print(f"{'backend':<12}{'in flight':>10}{'batches/s':>12}{'events/s':>12}{'vs raw':>9}")
        print(f"{'raw sqlite3':<12}{1:>10}{baseline:>12.0f}{baseline * BATCH:>12.0f}{1.0:>9.2f}")
        for level in levels:
            rate = asyncio.run(
                store_rate(
                    f"sqlite:///{root}/store-{level}.db",
                    make_batches(args.batches, f"s{level}"),
                    level,
                )
            )
            print(
                f"{'sqlite':<12}{level:>10}{rate:>12.0f}{rate * BATCH:>12.0f}"
                f"{rate / baseline:>9.2f}"
            )
        schema = f"tidings_bench_{uuid.uuid4().hex[:8]}"
        raw_schema = f"{schema}_raw"
        try:
            pg_raw = raw_postgres(pg_base, raw_schema, make_batches(args.batches, "rawpg"))
            print(
                f"{'raw psycopg':<12}{1:>10}{pg_raw:>12.0f}{pg_raw * BATCH:>12.0f}"
                f"{pg_raw / baseline:>9.2f}"
            )
            for level in levels:
                rate = asyncio.run(
                    store_rate(
                        f"{pg_base}?schema={schema}",
                        make_batches(args.batches, f"p{level}"),
                        level,
                    )
                )
                print(
                    f"{'postgresql':<12}{level:>10}{rate:>12.0f}{rate * BATCH:>12.0f}"
                    f"{rate / baseline:>9.2f}   ({rate / pg_raw:.2f} of raw psycopg)"
                )
        finally:
            with psycopg.connect(pg_base, autocommit=True) as conn:
                for name in (schema, raw_schema):
                    conn.execute(
                        sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name))
                    )


if __name__ == "__main__":
    main()
