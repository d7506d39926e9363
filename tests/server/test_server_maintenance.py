"""Stored responses are forgotten after their time to live, by the server's own background task."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import orjson

from tidings.server.app import create_app_for_url
from tidings.server.maintenance import prune_stored_responses
from tidings.server.settings import ServerSettings
from tidings.storage import IngestOutcome, StoredResponse, open_store

KEY = bytes(range(32))
T0 = 1_764_300_000.0  # unix seconds


def _render(outcome: IngestOutcome) -> StoredResponse:
    return StoredResponse(200, orjson.dumps({"accepted": outcome.accepted}))


async def _store_responses(url: str, app_id: str, at_s: float, ids: list[str]) -> None:
    store = await open_store(url, server_key=KEY)
    try:
        for request_id in ids:
            await store.ingest(
                app_id, [], arrival_ms=int(at_s * 1000), request_id=request_id, render=_render
            )
    finally:
        await store.close()


async def _new_app(url: str) -> str:
    store = await open_store(url, server_key=KEY)
    try:
        project = await store.create_project("P")
        return (await store.create_app(project.id, "A", "ios")).app_id
    finally:
        await store.close()


async def _remaining(url: str, app_id: str, ids: list[str]) -> list[str]:
    store = await open_store(url, server_key=KEY)
    try:
        return [i for i in ids if await store.stored_response(app_id, i) is not None]
    finally:
        await store.close()


def test_the_server_forgets_responses_older_than_the_ttl(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 't.db'}"
    day = 86_400.0

    async def main() -> list[str]:
        app_id = await _new_app(url)
        await _store_responses(url, app_id, T0 - 2 * day, ["old-1", "old-2"])
        await _store_responses(url, app_id, T0 - 60, ["recent"])
        settings = ServerSettings(clock=lambda: T0, response_ttl_seconds=day)
        app = create_app_for_url(url, settings=settings, server_key=KEY)
        async with app.router.lifespan_context(app):
            for _ in range(500):  # the first round runs as the server starts
                if await _remaining(url, app_id, ["old-1", "old-2"]) == []:
                    break
                await asyncio.sleep(0.01)
        return await _remaining(url, app_id, ["old-1", "old-2", "recent"])

    assert asyncio.run(main()) == ["recent"]


def test_pruning_runs_again_every_interval(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 't.db'}"
    now = [T0]

    async def main() -> tuple[list[str], list[str]]:
        app_id = await _new_app(url)
        await _store_responses(url, app_id, T0, ["r-1"])
        store = await open_store(url, server_key=KEY)
        settings = ServerSettings(
            clock=lambda: now[0], response_ttl_seconds=10.0, prune_interval_seconds=0.01
        )
        task = asyncio.create_task(prune_stored_responses(store, settings))
        try:
            await asyncio.sleep(0.05)
            kept = [i for i in ["r-1"] if await store.stored_response(app_id, i)]
            now[0] = T0 + 11  # the response is now older than its TTL
            for _ in range(500):
                if await store.stored_response(app_id, "r-1") is None:
                    break
                await asyncio.sleep(0.01)
            gone = [i for i in ["r-1"] if await store.stored_response(app_id, i)]
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await store.close()
        return kept, gone

    assert asyncio.run(main()) == (["r-1"], [])
