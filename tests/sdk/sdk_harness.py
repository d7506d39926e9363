"""A real Tidings server for SDK tests: uvicorn in a thread on 127.0.0.1, SQLite in a temp dir.

:class:`ServedProcess` serves the same set-up with ``tidings serve`` in a process of its own.

The server can be stopped and started again on the same port (the "server down, then up" tests)
and can run with a skewed clock (``ServerSettings.clock``) to test clock synchronisation.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson

from loopback import ServeProcess, ThreadedServer, free_port, start_serve
from tidings.server.app import create_app_for_url
from tidings.server.settings import ServerSettings
from tidings.storage import open_store


class LiveServer:
    """One database, one app with keys, an admin token, and a server that can go up and down."""

    def __init__(self, directory: Path, *, skew_s: float = 0.0) -> None:
        self.db_url = f"sqlite:///{directory / 'server.sqlite3'}"
        self.server_key = os.urandom(32)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.skew_s = skew_s
        self._served = ThreadedServer()
        self.app: dict[str, str] = {}
        self.admin_token = ""
        asyncio.run(self._bootstrap())

    async def _bootstrap(self) -> None:
        store = await open_store(self.db_url, server_key=self.server_key)
        try:
            project = await store.create_project("sdk-tests")
            self.project_id = project.id
            self.data_import_key = project.data_import_key
            self.app = (await store.create_app(project.id, "sdk", "python")).to_json()
            self.admin_token = await store.create_admin_token("sdk tests")
        finally:
            await store.close()

    # --- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        skew = self.skew_s
        clock: Callable[[], float] = lambda: time.time() + skew  # noqa: E731
        app = create_app_for_url(
            self.db_url, ServerSettings(clock=clock), server_key=self.server_key
        )
        self._served.start(app, self.port)

    def stop(self) -> None:
        self._served.stop()

    # --- what the SDK needs and what the tests check -------------------------------------------

    def client_kwargs(self) -> dict[str, Any]:
        return {
            "app_id": self.app["appId"],
            "api_key_public": self.app["apiKeyPublic"],
            "api_key_secret": self.app["apiKeySecret"],
            "backend_url": self.url,
        }

    def admin(self, method: str, path: str, json: Any = None) -> Any:
        response = httpx.request(
            method,
            self.url + path,
            json=json,
            headers={"Authorization": f"Bearer {self.admin_token}"},
            timeout=10,
        )
        response.raise_for_status()
        return response.json()

    def stored_events(self) -> list[dict[str, Any]]:
        """Every event the server stored for the app, in log order, in the SDK's record form.

        Read from the server's database (all of it, page by page), not the admin API's
        newest-1000 view.
        """
        return asyncio.run(self._read_log("event"))

    def stored_decisions(self) -> list[dict[str, Any]]:
        return asyncio.run(self._read_log("decision"))

    async def _read_log(self, kind: str) -> list[dict[str, Any]]:
        store = await open_store(self.db_url, server_key=self.server_key)
        out: list[dict[str, Any]] = []
        try:
            after = 0
            while True:
                page = await store.read_log(after, 1000)
                if not page:
                    return out
                for record in page:
                    if record.app_id == self.app["appId"] and record.kind == kind:
                        payload = orjson.loads(record.payload)
                        out.append(payload.get(kind, payload))
                after = page[-1].seq
        finally:
            await store.close()

    def create_campaign(self, campaign: dict[str, Any]) -> str:
        body = dict(campaign, state="Active")
        created = self.admin("POST", f"/admin/api/apps/{self.app['appId']}/campaigns", body)
        return str(created["id"])

    def campaign_stats(self, campaign_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.admin("GET", f"/admin/api/campaigns/{campaign_id}/stats")
        return result


class ServedProcess(LiveServer):
    """The same database and keys, served by a real ``tidings serve`` process (pipeline on)."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self._proc: ServeProcess | None = None

    def start(self) -> None:
        env = {**os.environ, "TIDINGS_SECRET_KEY": self.server_key.hex()}
        self._proc = start_serve(self.db_url, env)
        self.port = self._proc.port
        self.url = self._proc.base

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.stop()
