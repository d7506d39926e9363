"""Shared fixtures for the stream tests: a realistic upload context and a stream of records."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tidings.core.events import EventRecord
from tidings.streams.context import StreamContext
from tidings.streams.records import app_event_records, decision_record

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


def make_context(app_id: str = "app-1", user_id: str | None = "user-1") -> StreamContext:
    return StreamContext.from_upload(
        app_id,
        DEVICE,
        {"userId": user_id},
        [{"id": "s-1", "counter": 1, "type": "cold", "startedAt": 1_000, "endedAt": None}],
        {"name": "Demo", "packageName": "com.example.demo"},
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
