"""Shared fixtures for the stream tests: a realistic upload context and a stream of records."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from tidings.core.events import EventRecord
from tidings.streams.context import StreamContext
from tidings.streams.records import app_event_records, decision_record

sys.path.insert(0, str(Path(__file__).parent.parent / "storage"))
from storage_support import PG_BASE

DEVICE = {
    "deviceId": "dev-1",
    "platform": "Android",
    "osVersion": "14",
    "appVersion": "2.5.0",
    "appInstallVersion": "2.0.0",
    "country": "PL",
    "timezone": "Europe/Warsaw",
    "locale": "pl_PL",
    "model": "Pixel 8",
    "manufacturer": "Google",
    "sdk": {"name": "tidings-python", "version": "0.1.0"},
}


def make_context(
    app_id: str = "app-1", user_id: str | None = "user-1", aws_account_id: str | None = None
) -> StreamContext:
    return StreamContext.from_upload(
        app_id,
        DEVICE,
        {"userId": user_id},
        [{"id": "s-1", "counter": 1, "type": "cold", "startedAt": 1_000, "endedAt": None}],
        {"name": "Demo", "packageName": "com.example.demo"},
        aws_account_id=aws_account_id,
    )


def make_records(count: int, app_ids: tuple[str, ...] = ("app-1",)) -> list[dict[str, Any]]:
    """``count`` records (custom events and decisions mixed) spread over ``app_ids``."""
    out: list[dict[str, Any]] = []
    i = 0
    while len(out) < count:
        ctx = make_context(app_ids[i % len(app_ids)])
        if i % 5 == 4:
            decision = {
                "id": f"dec-{i:06d}",
                "campaignId": "c-1",
                "status": "SUCCESS",
                "treatmentId": "0",
                "source": "Tapped",
                "eventId": f"evt-{i - 1:06d}",
                "timestamp": 10_000 + i,
            }
            out.append(decision_record(decision, ctx, 20_000 + i))
        else:
            event = EventRecord(f"evt-{i:06d}", "Tapped", "custom", 10_000 + i, "s-1", {"n": i})
            out.extend(app_event_records(event, ctx, 20_000 + i)[:1])
        i += 1
    return out[:count]


@pytest.fixture
def context() -> StreamContext:
    return make_context()


@pytest.fixture(scope="session")
def context_factory() -> Callable[..., StreamContext]:
    return make_context


@pytest.fixture(scope="session")
def records_factory() -> Callable[..., list[dict[str, Any]]]:
    return make_records


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database on either backend (a PostgreSQL schema of its own, dropped after)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tidings.db'}"
        return
    schema = f"tidings_stream_{uuid.uuid4().hex[:12]}"
    yield f"{PG_BASE}?schema={schema}"
    with psycopg.connect(PG_BASE, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
