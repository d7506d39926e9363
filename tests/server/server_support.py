"""A running app over a real store, and a device that signs its requests like the SDK does."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg
import pytest
from psycopg import sql

from loopback import signed_headers
from tidings.server.app import create_app
from tidings.server.settings import ServerSettings
from tidings.storage import Store, open_store

SERVER_KEY = bytes(range(32))
T0 = 1_700_000_000_000
"""2023-11-14: event and session times of the test uploads (inside ingest's time range)."""


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


@dataclass
class Harness:
    """One app over one store, with an admin token and a project/app ready to use."""

    store: Store
    client: httpx.AsyncClient
    admin_token: str
    project: dict[str, Any]
    app: dict[str, Any]
    clock: list[float] = field(default_factory=lambda: [time.time()])

    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}"}

    @property
    def app_id(self) -> str:
        return str(self.app["appId"])

    def signed_headers(
        self,
        body: bytes,
        *,
        path: str = "/api/v1/session",
        key: str | None = None,
        secret: str | None = None,
        timestamp: int | None = None,
        request_id: str | None = None,
        legacy_signature: bool = False,
    ) -> dict[str, str]:
        """Headers as the SDK sends them; ``legacy_signature`` signs without the request id,
        as SDKs before 0.2 did."""
        credentials = {
            "apiKeyPublic": key or self.app["apiKeyPublic"],
            "apiKeySecret": secret or self.app["apiKeySecret"],
        }
        return signed_headers(
            credentials,
            body,
            request_id or str(uuid.uuid4()),
            path=path,
            timestamp=int(self.clock[0]) if timestamp is None else timestamp,
            sign_request_id=not legacy_signature,
        )

    async def upload(self, payload: dict[str, Any] | bytes, **kwargs: Any) -> httpx.Response:
        body = payload if isinstance(payload, bytes) else orjson.dumps(payload)
        path = kwargs.pop("path", "/api/v1/session")
        headers = self.signed_headers(body, path=path, **kwargs)
        return await self.client.post(path, content=body, headers=headers)

    async def new_app(self, name: str = "second") -> dict[str, Any]:
        r = await self.client.post(
            f"/admin/api/projects/{self.project['id']}/apps",
            json={"name": name, "platform": "android"},
            headers=self.admin,
        )
        assert r.status_code == 201, r.text
        return dict(r.json())


def upload_body(app_id: str, events: list[Any], **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "appId": app_id,
        "device": {
            "deviceId": "dev-1",
            "platform": "ios",
            "osVersion": "17.1",
            "appVersion": "2.0",
        },
        "user": {"userId": "u-1", "customProperties": {"plan": "pro", "age": 31}},
        "sessions": [
            {"id": "s-1", "counter": 1, "type": "cold", "startedAt": T0 - 60_000, "endedAt": None}
        ],
        "events": events,
        "dropped": 0,
    }
    body.update(extra)
    return body


def event(event_id: str, name: str = "PurchaseCompleted", **kw: Any) -> dict[str, Any]:
    out = {
        "id": event_id,
        "name": name,
        "type": "custom",
        "timestamp": T0,
        "sessionId": "s-1",
        "properties": {"price": 9.99, "plan": "annual"},
    }
    out.update(kw)
    return out


@asynccontextmanager
async def harness(
    url: str, settings_factory: Callable[[list[float]], ServerSettings] | None = None
) -> AsyncIterator[Harness]:
    store = await open_store(url, server_key=SERVER_KEY)
    clock = [time.time()]
    settings = (
        settings_factory(clock) if settings_factory else ServerSettings(clock=lambda: clock[0])
    )
    app = create_app(store, settings)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://tidings.test") as client:
            token = await store.create_admin_token("tests")
            admin = {"Authorization": f"Bearer {token}"}
            r = await client.post("/admin/api/projects", json={"name": "Acme"}, headers=admin)
            assert r.status_code == 201, r.text
            project = r.json()
            r = await client.post(
                f"/admin/api/projects/{project['id']}/apps",
                json={"name": "Acme iOS", "platform": "ios"},
                headers=admin,
            )
            assert r.status_code == 201, r.text
            yield Harness(store, client, token, project, r.json(), clock)
    finally:
        await store.close()


# --------------------------------------------------------------------------- fixtures
# Imported by the conftest of every suite that runs the app over real stores.


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _pg_url() -> Iterator[str]:
    schema = f"tidings_srv_{uuid.uuid4().hex[:12]}"
    yield f"{PG_BASE}?schema={schema}"
    with psycopg.connect(PG_BASE, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Both backends: for the behaviour that touches storage semantics."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tidings.db'}"
    else:
        yield from _pg_url()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'tidings.db'}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from _pg_url()


@pytest.fixture
async def srv(db_url: str) -> AsyncIterator[Harness]:
    async with harness(db_url) as h:
        yield h


@pytest.fixture
async def sq(sqlite_url: str) -> AsyncIterator[Harness]:
    async with harness(sqlite_url) as h:
        yield h
