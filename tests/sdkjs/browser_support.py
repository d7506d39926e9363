"""A Tidings server and a test web page on loopback, for the JavaScript SDK's browser tests.

The server is ``tidings serve``'s app over a SQLite file, behind a recorder that notes every
device request (path, origin, request id, status) and can hold the next upload for a while, so
a test can reload the page in the middle of it. The page server serves the test page and the
built bundle ``sdk-js/dist/tidings.min.js`` from its own origin; the page talks to the Tidings
server cross-origin, as a shop's web site would.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
from starlette.applications import Starlette
from starlette.responses import FileResponse, HTMLResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dashboard.dash_support import LiveServer
from loopback import ThreadedServer, free_port

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Tidings test page</title>
<script src="/tidings.min.js"></script></head>
<body><p>Tidings test page</p>
<script>
  const q = new URLSearchParams(location.search);
  window.deepLinks = [];
  window.systemEvents = [];
  window.tidings = new Tidings.Tidings({
    appId: q.get("app"), apiKeyPublic: q.get("key"), backendUrl: q.get("backend"),
    uploadInterval: 0.2, logLevel: "debug",
  });
  tidings.registerDeepLinkListener((url, info) => {
    window.deepLinks.push({url, info});
    return true;
  });
  tidings.setSystemEventsListener((e) => window.systemEvents.push(e));
</script></body></html>
"""


@dataclass
class Seen:
    """One device request the server received."""

    method: str
    path: str
    origin: str | None
    request_id: str | None
    status: int | None = None


@dataclass
class Recorder:
    """ASGI wrapper: records device requests; ``hold_uploads`` seconds delays the next upload."""

    app: ASGIApp
    seen: list[Seen] = field(default_factory=list)
    hold_uploads: float = 0.0
    held: threading.Event = field(default_factory=threading.Event)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        query = parse_qs(scope.get("query_string", b"").decode())
        item = Seen(
            scope["method"],
            scope["path"],
            headers.get("origin"),
            (query.get("requestId") or [None])[0],
        )
        self.seen.append(item)
        if scope["path"].endswith("/session") and scope["method"] == "POST" and self.hold_uploads:
            hold, self.hold_uploads = self.hold_uploads, 0.0
            self.held.set()
            await asyncio.sleep(hold)

        async def noting(message: Message) -> None:
            if message["type"] == "http.response.start":
                item.status = message["status"]
            await send(message)

        await self.app(scope, receive, noting)

    def uploads(self) -> list[Seen]:
        return [s for s in self.seen if s.method == "POST" and s.path.endswith("/session")]


class TidingsServer(LiveServer):
    """The dashboard suite's live server for a web app, behind a ``Recorder``, restartable."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory, platform="web")
        self.recorder = Recorder(_not_started)

    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}"}

    def start(self, wrap: Callable[[ASGIApp], ASGIApp] | None = None) -> None:
        """Serve behind the recorder; after a ``stop`` (an outage) it keeps what it saw."""

        def record(app: ASGIApp) -> ASGIApp:
            self.recorder.app = app if wrap is None else wrap(app)
            return self.recorder

        super().start(record)

    def admin_call(self, method: str, path: str, body: Any = None) -> Any:
        r = httpx.request(method, self.url + path, json=body, headers=self.admin, timeout=30)
        assert r.status_code < 300, r.text
        return r.json()

    def stored(self, name: str) -> list[dict[str, Any]]:
        """Stored events called ``name``, as uploaded (the newest thousand events of the app)."""
        base = f"/admin/api/apps/{self.app['appId']}/events/recent?limit=100"
        found: list[dict[str, Any]] = []
        path: str | None = base
        while path is not None and len(found) < 1000:
            page = self.admin_call("GET", path)
            found += [e["payload"]["event"] for e in page["items"] if e.get("name") == name]
            path = f"{base}&cursor={page['next']}" if page["next"] else None
        return found


async def _not_started(scope: Scope, receive: Receive, send: Send) -> None:
    raise RuntimeError("the server is not started")


class PageServer:
    """Serves the test page and the built bundle from its own loopback origin."""

    def __init__(self, dist: Path) -> None:
        async def page(_request: Any) -> HTMLResponse:
            return HTMLResponse(PAGE)

        async def bundle(_request: Any) -> FileResponse:
            return FileResponse(dist / "tidings.min.js", media_type="text/javascript")

        self.port = free_port()
        self._served = ThreadedServer()
        self._served.start(
            Starlette(routes=[Route("/", page), Route("/tidings.min.js", bundle)]), self.port
        )

    def url(self, server: TidingsServer, host: str = "127.0.0.1") -> str:
        app = server.app
        return (
            f"http://{host}:{self.port}/?app={app['appId']}&key={app['apiKeyPublic']}"
            f"&backend={server.url}"
        )

    def origin(self, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}"

    def stop(self) -> None:
        self._served.stop()
