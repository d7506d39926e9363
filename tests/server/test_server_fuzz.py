"""Schema-driven fuzzing: every operation of the app's own ``/openapi.json``, no 5xx.

Schemathesis reads the document the server publishes and generates requests for each operation,
both conforming and non-conforming ones (wrong types, missing fields, odd strings). The requests
carry valid credentials of the right kind (signed device requests are signed over the exact
bytes sent), and path parameters naming a project or app point at real ones, so generated bodies
reach validation and storage instead of stopping at a 401 or 404. The only property checked is
the contract's: a 5xx is always a bug. Examples are bounded so the whole module runs in seconds.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tidings.core.errors import InvalidInput
from tidings.core.events import validate_properties
from tidings.server.app import create_app
from tidings.server.auth import sign
from tidings.server.upload_items import json_properties
from tidings.storage import Store, open_store

pytestmark = pytest.mark.slow

SERVER_KEY = bytes(range(96, 128))
MAX_EXAMPLES = 12


class _LoopClient:
    """An in-process ASGI client driven from synchronous test code.

    The app and its store live on one event loop in a background thread for the whole module,
    as they would under uvicorn; each request is submitted to that loop.
    """

    def __init__(self, app: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        transport = httpx.ASGITransport(app=app)
        self.client = httpx.AsyncClient(transport=transport, base_url="http://tidings.test")

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=60)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.run(self.client.request(method, path, **kwargs))  # type: ignore[no-any-return]

    def get(self, path: str) -> httpx.Response:
        return self.request("GET", path)

    def close(self) -> None:
        self.run(self.client.aclose())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@dataclass
class _Fuzzed:
    client: _LoopClient
    store: Store
    admin: str
    project_id: str
    app: dict[str, Any]
    write_key: str


async def _setup(path: Path) -> tuple[Store, str, str, dict[str, Any], str]:
    """Open the store on the loop that will serve it, with an admin token and an app."""
    store = await open_store(f"sqlite:///{path}", server_key=SERVER_KEY)
    token = await store.create_admin_token("fuzz")
    project = await store.create_project("Fuzz")
    creds = await store.create_app(project.id, "Fuzz app", "ios")
    app = creds.to_json()
    return store, token, project.id, app, str(app["writeKey"])


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Fuzzed]:
    db = tmp_path_factory.mktemp("fuzz") / "tidings.db"
    client = _LoopClient(None)
    store, token, project_id, app, write_key = client.run(_setup(db))
    client.client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(store)), base_url="http://tidings.test"
    )
    try:
        yield _Fuzzed(client, store, token, project_id, app, write_key)
    finally:
        client.run(store.close())
        client.close()


@pytest.fixture(scope="module")
def api_schema(fuzzed: _Fuzzed) -> Any:
    return schemathesis.openapi.from_dict(fuzzed.client.get("/openapi.json").json())


schema = schemathesis.pytest.from_fixture("api_schema")


def _body_bytes(case: Any) -> bytes:
    body = case.body
    if body is None or type(body).__name__ == "NotSet":
        return b""
    if isinstance(body, bytes):  # negative mode sends raw, non-JSON bytes too
        return body
    try:
        return orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:  # integers beyond 64 bits, which JSON allows and orjson does not write
        return json.dumps(body).encode()


def _headers(f: _Fuzzed, case: Any, target: str, body: bytes) -> dict[str, str]:
    headers = {k: v for k, v in (case.headers or {}).items() if isinstance(v, str)}
    headers["Content-Type"] = "application/json"
    path = case.path
    if path == "/api/v1/session":
        ts = str(int(time.time()))
        headers.update(
            {
                "X-Api-Key": f.app["apiKeyPublic"],
                "X-Timestamp": ts,
                "X-Request-Id": str(uuid.uuid4()),
                "X-Signature": sign(f.app["apiKeySecret"], "POST", target, body, ts),
            }
        )
    elif path.startswith("/api/"):
        headers["X-Api-Key"] = f.app["apiKeyPublic"]
    elif path.startswith("/v1/"):
        basic = base64.b64encode(f"{f.write_key}:".encode()).decode()
        headers["Authorization"] = f"Basic {basic}"
    elif path.startswith("/admin/"):
        headers["Authorization"] = f"Bearer {f.admin}"
    return headers


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_operation_answers_5xx(case: Any, fuzzed: _Fuzzed) -> None:
    f = fuzzed
    params = dict(case.path_parameters or {})
    if "projectId" in params:
        params["projectId"] = f.project_id
    if "appId" in params:
        params["appId"] = f.app["appId"]
    path = case.path
    for name, value in params.items():
        path = path.replace("{" + name + "}", str(value))
    query = {k: v for k, v in (case.query or {}).items() if v is not None}
    request = f.client.client.build_request(case.method, path, params=query)
    target = request.url.raw_path.decode("latin-1")
    body = _body_bytes(case)
    response = f.client.request(
        case.method,
        path,
        params=query,
        content=body or None,
        headers=_headers(f, case, target, body),
    )
    assert response.status_code < 500, (
        f"{case.method} {target} -> {response.status_code}: {response.text[:500]}\n"
        f"body: {body[:500]!r}"
    )
    assert "x-server-time" in response.headers


_json_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=1100),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@given(
    st.one_of(
        st.dictionaries(st.text(max_size=260), _json_values, max_size=6),
        st.lists(st.integers(), max_size=2),
        st.text(max_size=3),
        st.none(),
    )
)
@settings(max_examples=300, deadline=None)
def test_the_upload_property_shortcut_agrees_with_the_core_rules(raw: Any) -> None:
    """``json_properties`` answers exactly as ``validate_properties``: same map or same error."""
    try:
        expected: Any = validate_properties(raw)
    except InvalidInput as exc:
        expected = (exc.field, exc.reason)
    try:
        got: Any = json_properties(raw)
    except InvalidInput as exc:
        got = (exc.field, exc.reason)
    assert got == expected
