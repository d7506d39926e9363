"""A live Tidings server for dashboard tests, and the headless Chromium the browser tests drive.

The browser is the system Chromium (``/usr/bin/chromium``, installed by ``.ci/run``) launched by
Playwright with a fresh profile; Playwright never downloads a browser of its own here.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from starlette.types import ASGIApp

from loopback import ThreadedServer, free_port
from tidings.server.app import create_app_for_url
from tidings.server.settings import ServerSettings
from tidings.storage import Store, open_store

CHROMIUM = os.environ.get("TIDINGS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


class LiveServer:
    """``tidings serve`` in a thread: one SQLite database, one project, one app, one token
    (``with_app=False``: only the token, a first run)."""

    def __init__(self, directory: Path, *, with_app: bool = True, platform: str = "ios") -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.with_app = with_app
        self.platform = platform
        self.db_url = f"sqlite:///{directory / 'dashboard.sqlite3'}"
        self.server_key = os.urandom(32)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._served = ThreadedServer()
        self.app: dict[str, Any] = {}
        asyncio.run(self._bootstrap())

    async def _bootstrap(self) -> None:
        store = await open_store(self.db_url, server_key=self.server_key)
        try:
            if self.with_app:
                project = await store.create_project("Acme")
                self.project_id = project.id
                name = f"Acme {self.platform}"
                self.app = (await store.create_app(project.id, name, self.platform)).to_json()
            self.admin_token = await store.create_admin_token("dashboard tests")
        finally:
            await store.close()

    def start(
        self, wrap: Callable[[ASGIApp], ASGIApp] | None = None, *, pipeline: bool = False
    ) -> None:
        """Serve (again, after ``stop``); ``wrap`` puts an ASGI layer of a test in front;
        ``pipeline`` runs the event-log consumers in the server, as ``tidings serve`` does."""
        app = create_app_for_url(
            self.db_url, ServerSettings(), server_key=self.server_key, pipeline=pipeline
        )
        self._served.start(app if wrap is None else wrap(app), self.port)

    def stop(self) -> None:
        self._served.stop()

    def sdk_kwargs(self) -> dict[str, Any]:
        return {
            "app_id": self.app["appId"],
            "api_key_public": self.app["apiKeyPublic"],
            "api_key_secret": self.app["apiKeySecret"],
            "backend_url": self.url,
        }


@contextmanager
def chromium_context(profile: Path, **options: Any) -> Iterator[Any]:
    """A fresh headless Chromium profile (Playwright's ``BrowserContext``), closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile),
            executable_path=chromium_or_fail(),
            headless=True,
            args=CHROMIUM_ARGS,
            **options,
        )
        context.set_default_timeout(15_000)
        try:
            yield context
        finally:
            context.close()


def chromium_or_fail() -> str:
    """The browser binary; a missing one fails the browser tests with the way to install it."""
    if not Path(CHROMIUM).is_file():
        import pytest

        pytest.fail(
            f"Chromium not found at {CHROMIUM}: the dashboard browser tests need it. "
            "Install it with `apt-get install -y chromium chromium-driver` (what .ci/run does), "
            "or point TIDINGS_CHROMIUM at a Chromium binary.",
            pytrace=False,
        )
    return CHROMIUM


class AsgiHarness:
    """A store, the ASGI app over it, an httpx client, and what the store was seeded with."""

    def __init__(self, store: Store, client: httpx.AsyncClient, token: str, app_id: str) -> None:
        self.store = store
        self.client = client
        self.token = token
        self.app_id = app_id
