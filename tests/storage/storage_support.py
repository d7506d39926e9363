"""The backend handle and small builders shared by the storage tests."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import nats
import orjson
import psycopg
from psycopg import sql

from tidings.storage import (
    AppCredentials,
    DecisionIn,
    EventIn,
    IngestOutcome,
    Store,
    StoredResponse,
    StoreOptions,
    open_store,
)
from tidings.storage.memory import MemoryState, MemoryStore

T = TypeVar("T")
SERVER_KEY = bytes(range(32))


def _pg_base() -> str:
    env = os.environ.get("TIDINGS_TEST_PG")
    if env:
        return env
    for user in ("postgres", "root"):
        url = f"postgresql://{user}@127.0.0.1:5432/test"
        try:
            with psycopg.connect(url, connect_timeout=3):
                return url
        except psycopg.OperationalError:
            continue
    return "postgresql://postgres@127.0.0.1:5432/test"


PG_BASE = _pg_base()


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run one coroutine on a fresh event loop (each test is one loop)."""
    return asyncio.run(coro)


@dataclass(frozen=True)
class Backend:
    """Where a test's store lives, and how to open it (several times, if the test wants)."""

    name: str
    url: str
    path: Path | None = None
    schema: str | None = None
    log: str | None = None
    """The ``nats://`` event log URL of the ``jetstream`` backend (a stream of its own)."""
    state: MemoryState = field(default_factory=MemoryState)
    """The data of the ``memory`` backend: every store opened on it sees the same data, the way
    a reopened database file does."""

    async def open(self, server_key: bytes = SERVER_KEY, **options: Any) -> Store:
        if self.name == "memory":
            return MemoryStore(self.state)
        return await open_store(
            self.url, server_key=server_key, options=StoreOptions(**options), log=self.log
        )

    def raw_rows(self) -> list[tuple[str, tuple[Any, ...]]]:
        """Every row of every table, read behind the store's back (for at-rest checks)."""
        out: list[tuple[str, tuple[Any, ...]]] = []
        if self.path is not None:
            import sqlite3

            conn = sqlite3.connect(str(self.path))
            try:
                tables = [
                    r[0]
                    for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                ]
                for table in tables:
                    out += [(table, tuple(r)) for r in conn.execute(f'SELECT * FROM "{table}"')]
            finally:
                conn.close()
            return out
        with psycopg.connect(PG_BASE, autocommit=True) as conn:
            tables = [
                r[0]
                for r in conn.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                    (self.schema,),
                )
            ]
            for table in tables:
                query = sql.SQL("SELECT * FROM {}.{}").format(
                    sql.Identifier(self.schema or "public"), sql.Identifier(table)
                )
                out += [(table, tuple(r)) for r in conn.execute(query)]
        return out


def backend_named(name: str, tmp_path: Path, schema_prefix: str) -> Iterator[Backend]:
    """A fresh ``memory``, ``sqlite`` (a file in ``tmp_path``) or ``postgresql`` (a schema
    dropped afterwards) backend, for fixtures to yield from."""
    if name == "memory":
        yield Backend("memory", "memory:")
        return
    if name == "sqlite":
        path = tmp_path / "tidings.db"
        yield Backend("sqlite", f"sqlite:///{path}", path=path)
        return
    if name == "jetstream":
        path = tmp_path / "control.db"
        with own_stream() as log:
            yield Backend("jetstream", f"sqlite:///{path}", path=path, log=log)
        return
    schema = f"{schema_prefix}_{uuid.uuid4().hex[:12]}"
    yield Backend("postgresql", f"{PG_BASE}?schema={schema}", schema=schema)
    with psycopg.connect(PG_BASE, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


NATS_URL = os.environ.get("TIDINGS_TEST_NATS", "nats://127.0.0.1:4222")


@contextlib.contextmanager
def own_stream(partitions: int = 4, servers: str = NATS_URL) -> Iterator[str]:
    """A log URL naming a stream of its own (deleted afterwards) on the test NATS server."""
    tag = uuid.uuid4().hex[:12]
    stream = f"T_{tag}"
    yield f"{servers}?stream={stream}&subjects=t{tag}&partitions={partitions}"

    async def drop() -> None:
        nc = await nats.connect(servers.split(",", maxsplit=1)[0], connect_timeout=3)
        try:
            with contextlib.suppress(Exception):
                await nc.jetstream().delete_stream(stream)
        finally:
            await nc.close()

    asyncio.run(drop())


T0 = 1_764_300_000_000  # 2025-11-28 03:20 UTC


def event(
    event_id: str,
    name: str = "PurchaseCompleted",
    *,
    type_: str = "custom",
    ts: int = T0,
    properties: dict[str, Any] | None = None,
    device_id: str = "dev-1",
) -> EventIn:
    props = properties or {}
    record = {
        "id": event_id,
        "name": name,
        "type": type_,
        "timestamp": ts,
        "sessionId": "s-1",
        "properties": props,
    }
    return EventIn(
        id=event_id,
        name=name,
        type=type_,
        timestamp=ts,
        payload=orjson.dumps(record),
        device_id=device_id,
        properties=props,
    )


def decision(
    decision_id: str, campaign_id: str = "c_1", status: str = "SUCCESS", ts: int = T0
) -> DecisionIn:
    body = {"id": decision_id, "campaignId": campaign_id, "status": status, "timestamp": ts}
    return DecisionIn(
        id=decision_id,
        campaign_id=campaign_id,
        status=status,
        timestamp=ts,
        payload=orjson.dumps(body),
        device_id="dev-1",
    )


def render(outcome: IngestOutcome) -> StoredResponse:
    """The shape the HTTP API answers with, minus serverTime."""
    body = {"accepted": outcome.accepted, "duplicates": outcome.duplicates, "rejected": []}
    return StoredResponse(200, orjson.dumps(body))


async def new_app(store: Store, name: str = "app") -> AppCredentials:
    project = await store.create_project(f"project-{name}")
    return await store.create_app(project.id, name, "ios")


async def stored_ids(store: Store, kind: str = "event") -> list[str]:
    """Every item id in the log of that kind, in sequence order."""
    out: list[str] = []
    after = 0
    while True:
        page = await store.read_log(after, 500)
        if not page:
            return out
        out += [r.item_id for r in page if r.kind == kind]
        after = page[-1].seq


async def reads_secret(store: Store, creds: AppCredentials) -> bool:
    """Whether the store unseals the app's API secret exactly as it was issued."""
    key = await store.signing_key(creds.api_key_public)
    return key is not None and key.secret == creds.api_key_secret.encode()
