"""The pipeline runs inside the server process: started and stopped with the app's lifespan."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from amplitude_standin import Standin
from pipeline_support import amplitude_instance
from starlette.applications import Starlette
from storage_support import SERVER_KEY, run

from tidings.server.app import create_app_for_url
from tidings.storage import open_store


async def _setup(url: str, amp: Standin) -> tuple[str, str]:
    store = await open_store(url, server_key=SERVER_KEY)
    project = await store.create_project("P")
    creds = await store.create_app(project.id, "A", "ios")
    instance = await amplitude_instance(store, creds.app_id, amp.url)
    await store.close()
    return creds.write_key, instance.id


async def _track(app: Starlette, write_key: str, message: dict[str, object]) -> int:
    """Run the app's lifespan around one Segment call, as a server process would."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            r = await client.post("/v1/track", json=message, auth=(write_key, ""))
            return r.status_code


def test_a_segment_track_call_reaches_amplitude_through_the_server(
    tmp_path: Path, amp: Standin
) -> None:
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    message = {
        "type": "track",
        "event": "Song Played",
        "anonymousId": "anon-123456",
        "messageId": "msg-0001",
        "properties": {"title": "x"},
        "timestamp": "2025-11-28T03:20:00.000Z",
    }

    async def main() -> None:
        write_key, _ = await _setup(url, amp)
        app = create_app_for_url(url, server_key=SERVER_KEY, pipeline=True)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                r = await client.post("/v1/track", json=message, auth=(write_key, ""))
                assert r.status_code == 200, r.text
                for _ in range(3000):
                    if amp.accepted:
                        break
                    await asyncio.sleep(0.01)

    run(main())
    assert [(e["event_type"], e["insert_id"]) for e in amp.accepted] == [
        ("Song Played", "msg-0001")
    ]


def test_the_pipeline_is_off_unless_asked(tmp_path: Path, amp: Standin) -> None:
    """``create_app_for_url`` alone (tests, embedding) runs no consumer: the cursor stays."""
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    message = {"type": "track", "event": "E", "anonymousId": "anon-123456", "messageId": "m-1"}

    async def main() -> tuple[int, int]:
        write_key, instance_id = await _setup(url, amp)
        app = create_app_for_url(url, server_key=SERVER_KEY)
        assert await _track(app, write_key, message) == 200
        store = await open_store(url, server_key=SERVER_KEY)
        try:
            return await store.get_cursor(f"destination:{instance_id}"), await store.last_seq()
        finally:
            await store.close()

    position, last = run(main())
    assert position < last and amp.state.requests == []
