"""Fixtures: a live server per test module, a signed-in browser page, an ASGI client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from dash_support import AsgiHarness, LiveServer, chromium_context

from tidings.server.app import create_app
from tidings.storage import open_store


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveServer]:
    server = LiveServer(tmp_path / "server")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def browser_context(tmp_path: Path) -> Iterator[object]:
    """A fresh Chromium profile, headless, with no network but loopback in use."""
    with chromium_context(
        tmp_path / "chromium-profile", viewport={"width": 1280, "height": 900}
    ) as context:
        yield context


@pytest.fixture
async def asgi(tmp_path: Path) -> AsyncIterator[AsgiHarness]:
    store = await open_store(f"sqlite:///{tmp_path / 'http.sqlite3'}", server_key=bytes(32))
    try:
        token = await store.create_admin_token("tests")
        project = await store.create_project("Acme")
        creds = await store.create_app(project.id, "Acme iOS", "ios")
        transport = httpx.ASGITransport(app=create_app(store))
        async with httpx.AsyncClient(transport=transport, base_url="http://tidings.test") as c:
            yield AsgiHarness(store, c, token, creds.app_id)
    finally:
        await store.close()
