"""The outermost layer: ``X-Server-Time`` on every response, metrics, and the last-resort 500.

Written as a raw ASGI middleware (not ``BaseHTTPMiddleware``) so it adds no task or body copy to
the hot path: it only wraps ``send`` to add one header and note the status.
"""

from __future__ import annotations

import logging
import time
from collections.abc import MutableMapping
from typing import Any

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tidings.server.errors import error_body
from tidings.server.state import ServerState

log = logging.getLogger("tidings.server")

CLIENT_CLOSED = 499
"""Status recorded in the metrics for a request whose client left before it was answered."""


class ServerTimeMiddleware:
    def __init__(self, app: ASGIApp, state: ServerState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        response_started = False
        clock = self.state.settings.clock

        async def send_with_time(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-server-time", str(int(clock() * 1000)).encode("ascii")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            for part, bad in (
                ("path", "\x00" in scope.get("path", "")),
                ("query", b"%00" in scope.get("query_string", b"")),
            ):
                if bad:
                    status = 400
                    message = f"{part}: must not contain NUL characters"
                    await _send_error(send_with_time, 400, f"invalid_{part}", message)
                    return
            await self.app(scope, receive, send_with_time)
        except ClientDisconnect:
            # The client went away (or was cut off by a read deadline) before its body was
            # read: nobody is left to answer, and it is not a server fault worth a traceback.
            status = CLIENT_CLOSED
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if response_started:
                raise
            status = 500
            await _send_error(
                send_with_time,
                500,
                "internal_error",
                "internal error (this is a bug; see the server log)",
            )
        finally:
            self.state.metrics.observe_request(
                scope.get("method", ""), _route(scope), status, time.perf_counter() - started
            )


def _route(scope: MutableMapping[str, Any]) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


async def _send_error(send: Send, status: int, code: str, message: str) -> None:
    body = error_body(code, message)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode("ascii")),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
