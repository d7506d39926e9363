"""A webhook receiver on 127.0.0.1 that verifies Standard Webhooks signatures.

Every POST is checked with the ``standardwebhooks`` library (an implementation of the spec
that is not ours): a request whose ``webhook-signature`` does not verify under the receiver's
secret is answered 401 and counted in ``forged``. Verified requests are recorded, and their
events kept in the order they were first accepted (deduplicated by their id, as a receiver
using the id as idempotency key would). Tests script faults: every request fails with 500 for
a while, a 429 with ``Retry-After``, answers slower than the sender's timeout, or a 400 for any
request holding a given event (a rendered payload, sent alone, is known by its ``webhook-id``).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def event_id(event: dict[str, Any]) -> str:
    """A message's id: ``messageId`` (Segment format) or ``event_id`` (Pinpoint)."""
    return str(event.get("messageId") or event.get("event_id") or "")


@dataclass
class ReceiverState:
    secret: str = SECRET
    failing_until: float = 0.0
    """Until this monotonic time every request is answered 500."""
    throttle: int = 0
    """This many requests are answered 429 with ``Retry-After: 0``."""
    slow: int = 0
    """This many requests are answered after ``slow_s`` seconds (past the sender's timeout)."""
    slow_s: float = 1.5
    refuse: set[str] = field(default_factory=set)
    """Event ids whose requests are answered 400."""
    forged: int = 0
    requests: list[tuple[dict[str, str], bytes, int]] = field(default_factory=list)
    accepted: list[dict[str, Any]] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


class WebhookReceiver:
    """``with WebhookReceiver() as hook:``; ``hook.url`` is the address to configure."""

    def __init__(self, **state: Any) -> None:
        self.state = ReceiverState(**state)
        handler = type("Handler", (_Handler,), {"state": self.state})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)

    def __enter__(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def accepted(self) -> list[dict[str, Any]]:
        with self.state.lock:
            return list(self.state.accepted)

    def ids(self) -> set[str]:
        return {event_id(e) for e in self.accepted}

    @contextmanager
    def failing_for(self, seconds: float) -> Iterator[None]:
        with self.state.lock:
            self.state.failing_until = time.monotonic() + seconds
        yield


class _Handler(BaseHTTPRequestHandler):
    state: ReceiverState
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def _reply(self, status: int, extra: dict[str, str] | None = None) -> None:
        data = b"{}" if status < 400 else json.dumps({"error": f"status {status}"}).encode()
        try:
            self.send_response(status)
            for name, value in (extra or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        state = self.state
        try:
            Webhook(state.secret).verify(raw, headers)
        except WebhookVerificationError:
            with state.lock:
                state.forged += 1
            self._reply(401)
            return
        body = json.loads(raw)
        batch = isinstance(body, dict) and "events" in body
        events = body.get("events") if batch else [body]
        # A rendered payload (sent alone) is known by its webhook-id.
        key = event_id if batch else (lambda _e: headers.get("webhook-id", ""))
        with state.lock:
            if time.monotonic() < state.failing_until:
                status = 500
            elif state.throttle:
                state.throttle -= 1
                status = 429
            elif any(key(e) in state.refuse for e in events):
                status = 400
            else:
                status = 0
            slow = status == 0 and state.slow > 0
            if slow:
                state.slow -= 1
            state.requests.append((headers, raw, status or 200))
        if slow:
            time.sleep(state.slow_s)  # past the sender's timeout: it gives up, we accept
        if status:
            self._reply(status, {"Retry-After": "0"} if status == 429 else None)
            return
        with state.lock:
            for event in events:
                if key(event) not in state.seen:
                    state.seen.add(key(event))
                    state.accepted.append(event)
        self._reply(200)
