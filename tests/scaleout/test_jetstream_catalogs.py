"""The catalogs on a JetStream log are the SQL log's: the same uploads, through the device
protocol, give the same event names, counts, custom-property keys and types, within the same
limits, and the same answers to the uploader (new names past the limit refused)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from storage_support import T0, Backend, backend_named, run

from loopback import signed_headers
from tidings.core.partitions import partition_key, partition_of
from tidings.pipeline import PipelineRunner
from tidings.pipeline.counting import Counting
from tidings.server.app import create_app
from tidings.server.settings import ServerSettings
from tidings.storage import CatalogLimits, LogRecord, Store

pytestmark = pytest.mark.nats
LIMITS = CatalogLimits(event_names=5, property_keys=4)


@pytest.fixture
def sqlite_backend(tmp_path: Path) -> Iterator[Backend]:
    (tmp_path / "sql").mkdir()
    yield from backend_named("sqlite", tmp_path / "sql", "unused")


@pytest.fixture
def js_backend(tmp_path: Path) -> Iterator[Backend]:
    (tmp_path / "js").mkdir()
    yield from backend_named("jetstream", tmp_path / "js", "unused")


def _event(name: str, n: int) -> dict[str, Any]:
    return {
        "id": f"{name}-{n}",
        "name": name,
        "type": "custom",
        "timestamp": T0 + n,
        "sessionId": "s-1",
        "properties": {"n": n},
    }


UPLOADS: list[tuple[str, dict[str, Any] | None, list[str]]] = [
    # (device, the user's custom properties, event names)
    ("dev-1", {"plan": "pro", "age": 30}, ["Opened", "Tapped", "Tapped"]),
    ("dev-2", {"plan": 3, "vip": True}, ["Opened", "Scrolled", "Bought"]),
    ("dev-3", {"k1": 1, "k2": 2, "k3": "x"}, ["Opened"]),  # keys past the limit of 4
    ("dev-4", None, ["Shared", "Liked", "Followed", "Shared"]),  # 5 names: Liked, Followed out
    ("dev-5", {"plan": "free"}, ["Tapped", "Liked"]),  # a known name, and a refused one
]


def _body(device: str, props: dict[str, Any] | None, names: Sequence[str], first: int) -> bytes:
    user: dict[str, Any] = {"userId": f"u-{device}"}
    if props is not None:
        user["customProperties"] = props
    return orjson.dumps(
        {
            "device": {"deviceId": device, "platform": "ios", "locale": "en_US"},
            "user": user,
            "sessions": [{"id": "s-1", "counter": 1, "type": "cold", "startedAt": T0}],
            "events": [_event(name, first + i) for i, name in enumerate(names)],
        }
    )


async def _count(store: Store) -> None:
    """Run the counting consumer until it is caught up (nothing to do on a SQL log)."""
    await PipelineRunner(store, providers=[Counting(store, LIMITS).consumers]).run_until_idle()


async def _upload(
    store: Store, app: dict[str, Any], bodies: Sequence[tuple[bytes, str]], *, count_each: bool
) -> list[Any]:
    """Send each body signed through the device protocol; the answers without serverTime.
    ``count_each``: run the counting consumer after each (else once, at the end)."""
    web = create_app(store, ServerSettings(catalog_limits=LIMITS))
    answers: list[Any] = []
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=web), base_url="http://t"
    ) as client:
        for body, request_id in bodies:
            headers = signed_headers(app, body, request_id, sign_request_id=False)
            r = await client.post("/api/v1/session", content=body, headers=headers)
            assert r.status_code == 200, r.text
            answer = r.json()
            answer.pop("serverTime")
            answers.append(answer)
            if count_each:
                await _count(store)
    await _count(store)
    return answers


async def _new_app(store: Store) -> dict[str, Any]:
    project = await store.create_project("p")
    return (await store.create_app(project.id, "a", "ios")).to_json()


async def _events(store: Store, app_id: str) -> list[tuple[str, str, int, int | None]]:
    return [(e.name, e.type, e.count, e.last_seen) for e in await store.event_catalog(app_id)]


async def _run(backend: Backend) -> dict[str, Any]:
    """The uploads (one retried), counted after each, and what the catalogs then hold."""
    async with await backend.open() as store:
        app = await _new_app(store)
        sent = [
            (_body(device, props, names, i * 10), str(uuid.uuid4()))
            for i, (device, props, names) in enumerate(UPLOADS)
        ]
        sent.append(sent[3])  # a retry of the upload whose names were refused
        answers = await _upload(store, app, sent, count_each=True)
        app_id = app["appId"]
        result = {
            "answers": answers,
            "events": await _events(store, app_id),
            "properties": [(p.key, p.type) for p in await store.property_catalog(app_id)],
            "sizes": await store.catalog_sizes(app_id),
        }
        if not store.counts_on_append:
            # Every batch handed over again (a lost lease, a crash): nothing counted twice.
            by_partition: dict[int, list[LogRecord]] = {}
            for record in await store.read_log(0, 1000):
                key = partition_key(record.device_id, record.user_id)
                p = partition_of(record.app_id, key, store.partitions)
                by_partition.setdefault(p, []).append(record)
            counting = Counting(store, LIMITS)
            for batch in by_partition.values():
                await counting.handle(batch)
            assert await _events(store, app_id) == result["events"]
            assert [(p.key, p.type) for p in await store.property_catalog(app_id)] == result[
                "properties"
            ]
        return result


def test_the_same_uploads_give_the_same_catalogs(
    sqlite_backend: Backend, js_backend: Backend
) -> None:
    on_sql = run(_run(sqlite_backend))
    on_js = run(_run(js_backend))
    custom = {(name, count) for name, kind, count, _ in on_sql["events"] if kind == "custom"}
    assert custom == {("Opened", 3), ("Tapped", 3), ("Scrolled", 1), ("Bought", 1), ("Shared", 2)}
    assert on_sql["properties"] == [
        ("age", "number"),
        ("k1", "number"),
        ("plan", "mixed"),
        ("vip", "boolean"),
    ]
    assert on_sql["sizes"] == (5, 4)
    refused = [r["field"] for r in on_sql["answers"][3]["rejected"]]
    assert refused == ["events[1].name", "events[2].name"]
    assert on_sql["answers"][5] == on_sql["answers"][3]  # the retry gets the first answer
    assert on_js == on_sql


def test_counting_behind_ingest_still_keeps_the_limits(js_backend: Backend) -> None:
    """Uploads arriving while the counting consumer has not caught up: ingest cannot refuse
    names it has not seen counted, but the catalogs never pass their limits, and once counted a
    name left out is refused."""

    async def go() -> None:
        async with await js_backend.open() as store:
            app = await _new_app(store)
            bodies = [  # 4 uploads of 3 new names and 3 new keys each, counted at the end
                (
                    _body(
                        f"dev-{i}",
                        {f"p{i}{j}": j for j in range(3)},
                        [f"N{i}{j}" for j in range(3)],
                        0,
                    ),
                    str(uuid.uuid4()),
                )
                for i in range(4)
            ]
            answers = await _upload(store, app, bodies, count_each=False)
            assert [a["accepted"] for a in answers] == [3, 3, 3, 3]
            assert await store.catalog_sizes(app["appId"]) == (5, 4)
            custom = [e for e in await store.event_catalog(app["appId"]) if e.type == "custom"]
            assert [e.count for e in custom] == [1] * 5
            late = {f"N{i}{j}" for i in range(4) for j in range(3)} - {e.name for e in custom}
            again = [(_body("dev-9", None, sorted(late), 50), str(uuid.uuid4()))]
            answer = (await _upload(store, app, again, count_each=False))[0]
            assert answer["accepted"] == 0 and len(answer["rejected"]) == len(late)
            assert {r["code"] for r in answer["rejected"]} == {"catalog_full"}

    run(go())
