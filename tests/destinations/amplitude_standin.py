"""A local stand-in for Amplitude's ingestion APIs, enforcing their documented contract.

A real HTTP server on 127.0.0.1 (ephemeral port) serving ``/2/httpapi``, ``/batch``, ``/identify``,
``/groupidentify`` and ``/usermap``. It checks what Amplitude checks (API key, JSON body, event
count and size limits, required fields, id lengths and forbidden ids, ``time`` in ms, 30 events/s
per device or user on ``/2/httpapi``), answers with Amplitude's response shapes, and keeps what it
accepted, deduplicated by ``insert_id`` per device. Tests can script failures: a status with a body,
a slow answer, a dropped connection, or "accept, then answer 500".
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import orjson

INVALID_IDS = {
    "anonymous",
    "nil",
    "none",
    "null",
    "n/a",
    "na",
    "undefined",
    "unknown",
    "",
    "00000000-0000-0000-0000-000000000000",
    "{}",
    "lmy47d",
    "0",
    "-1",
}
LIMITS = {"/2/httpapi": 1_000_000, "/batch": 20_000_000}


@dataclass
class Fault:
    """A scripted answer: ``status``/``body``, or ``delay_s`` before answering, or ``reset``."""

    status: int = 500
    body: dict[str, Any] | None = None
    delay_s: float = 0.0
    reset: bool = False
    accept_first: bool = False


@dataclass
class StandinState:
    api_keys: set[str] = field(default_factory=lambda: {"test-key"})
    eps_limit: int = 30
    clock: Callable[[], float] = time.monotonic
    faults: list[Fault] = field(default_factory=list)
    chaos: Callable[[list[dict[str, Any]]], Fault | None] | None = None
    """Asked with the events of every events request no scripted fault answers: a fault it
    returns answers that request (a misbehaving Amplitude)."""
    accepted: list[dict[str, Any]] = field(default_factory=list)
    received: int = 0
    """Every event of every accepted request, duplicates included (``accepted`` dedups)."""
    identifications: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, int]] = field(default_factory=list)
    seen: set[tuple[str, str]] = field(default_factory=set)
    rate: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))
    lock: threading.Lock = field(default_factory=threading.Lock)
    accepted_more: threading.Condition = field(init=False)
    """Notified (under ``lock``) whenever events are accepted: ``/wait`` blocks on it."""

    def __post_init__(self) -> None:
        self.accepted_more = threading.Condition(self.lock)


class Standin:
    """Start with ``with Standin() as amp:``; ``amp.url`` is the base URL to configure."""

    def __init__(self, **state: Any) -> None:
        self.state = StandinState(**state)
        handler = type("Handler", (_Handler,), {"state": self.state})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)

    def __enter__(self) -> Standin:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail_next(self, *faults: Fault) -> None:
        with self.state.lock:
            self.state.faults.extend(faults)

    @property
    def accepted(self) -> list[dict[str, Any]]:
        return list(self.state.accepted)


class _Handler(BaseHTTPRequestHandler):
    state: StandinState
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as two writes: no delayed-ACK stall

    def log_message(self, *args: object) -> None:
        pass

    def _reply(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        with self.state.lock:
            self.state.requests.append((self.path, status))
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (a timeout test): nothing to answer

    def do_GET(self) -> None:
        """``/stats``: counters for a stand-in running in another process (benchmarks);
        ``/wait?accepted=N&timeout=S`` answers them once N events were accepted (or after S
        seconds), so a benchmark waits without polling."""
        path, _, query = self.path.partition("?")
        with self.state.lock:
            if path == "/wait":
                args = {k: v[0] for k, v in parse_qs(query).items()}
                target = int(args.get("accepted", "0"))
                self.state.accepted_more.wait_for(
                    lambda: len(self.state.accepted) >= target, float(args.get("timeout", "60"))
                )
            body = {"received": self.state.received, "accepted": len(self.state.accepted)}
        self._reply(200 if path in ("/stats", "/wait") else 404, body)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        with self.state.lock:
            fault = self.state.faults.pop(0) if self.state.faults else None
        if fault is None and self.state.chaos is not None and self.path in LIMITS:
            try:
                events = orjson.loads(raw).get("events") or []
            except (orjson.JSONDecodeError, AttributeError):
                events = []
            with self.state.lock:
                fault = self.state.chaos(events)
        if fault is not None and not fault.accept_first:
            if fault.reset:
                self.connection.shutdown(2)
                self.close_connection = True
                return
            if fault.delay_s:
                time.sleep(fault.delay_s)
            else:
                self._reply(fault.status, fault.body or {"code": fault.status, "error": "scripted"})
                return
        status, body = self._handle(raw)
        if fault is not None and fault.accept_first:
            status, body = (
                fault.status,
                fault.body or {"code": fault.status, "error": "accepted, then failed"},
            )
        self._reply(status, body)

    def _handle(self, raw: bytes) -> tuple[int, dict[str, Any]]:
        path = self.path.split("?")[0]
        if path in LIMITS:
            return self._events(path, raw)
        if path in ("/identify", "/groupidentify", "/usermap"):
            return self._form(path, raw)
        return 404, {"code": 404, "error": "Invalid request path"}

    def _events(self, path: str, raw: bytes) -> tuple[int, dict[str, Any]]:
        if "application/json" not in (self.headers.get("Content-Type") or ""):
            return 400, {"code": 400, "error": "Invalid JSON request body"}
        if len(raw) >= LIMITS[path]:
            return 413, {"code": 413, "error": "Payload too large"}
        try:
            payload = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return 400, {"code": 400, "error": "Invalid JSON request body"}
        if not isinstance(payload, dict) or not payload.get("api_key"):
            return 400, {
                "code": 400,
                "error": "Request missing required field",
                "missing_field": "api_key",
            }
        if payload["api_key"] not in self.state.api_keys:
            return 400, {"code": 400, "error": f"Invalid API key: {payload['api_key']}"}
        events = payload.get("events")
        if not isinstance(events, list) or not events:
            return 400, {
                "code": 400,
                "error": "Request missing required field",
                "missing_field": "events",
            }
        if len(events) >= 2000:
            return 413, {"code": 413, "error": "Payload too large"}
        min_len = (payload.get("options") or {}).get("min_id_length") or 5
        invalid: dict[str, list[int]] = defaultdict(list)
        missing: dict[str, list[int]] = defaultdict(list)
        id_lengths: dict[str, list[int]] = defaultdict(list)
        for i, event in enumerate(events):
            if not isinstance(event, dict):
                invalid["event"].append(i)
                continue
            if not isinstance(event.get("event_type"), str) or not event["event_type"]:
                missing["event_type"].append(i)
            if "time" in event and (
                not isinstance(event["time"], int) or isinstance(event["time"], bool)
            ):
                invalid["time"].append(i)
            ids = [k for k in ("user_id", "device_id") if event.get(k) is not None]
            if not ids:
                missing["user_id"].append(i)
            for k in ids:
                value = event[k]
                if not isinstance(value, str) or value.lower() in INVALID_IDS:
                    invalid[k].append(i)
                elif len(value) < min_len:
                    id_lengths[k].append(i)
        if invalid or missing or id_lengths:
            body: dict[str, Any] = {"code": 400, "error": "Invalid field values on some events"}
            if invalid:
                body["events_with_invalid_fields"] = dict(invalid)
            if missing:
                body["events_with_missing_fields"] = dict(missing)
            if id_lengths:
                body["events_with_invalid_id_lengths"] = dict(id_lengths)
            return 400, body
        if path == "/2/httpapi":
            throttled = self._throttle(events)
            if throttled is not None:
                return 429, throttled
        with self.state.lock:
            self.state.received += len(events)
            for event in events:
                key = (
                    str(event.get("device_id") or event.get("user_id")),
                    str(event.get("insert_id")),
                )
                if event.get("insert_id") is not None and key in self.state.seen:
                    continue
                self.state.seen.add(key)
                self.state.accepted.append(event)
            self.state.accepted_more.notify_all()
        return 200, {
            "code": 200,
            "events_ingested": len(events),
            "payload_size_bytes": len(raw),
            "server_upload_time": int(time.time() * 1000),
        }

    def _throttle(self, events: list[dict[str, Any]]) -> dict[str, Any] | None:
        now = self.state.clock()
        users: dict[str, int] = {}
        devices: dict[str, int] = {}
        throttled_events: list[int] = []
        with self.state.lock:
            # Each id's window holds the times of its events in the last second; only the ids of
            # this request are looked at (and pruned), so a request costs its own size, not the
            # number of ids ever seen.
            counts: dict[str, int] = {}
            for i, event in enumerate(events):
                over = False
                for kind, target in (("user_id", users), ("device_id", devices)):
                    value = event.get(kind)
                    if value:
                        key = f"{kind}:{value}"
                        count = counts.get(key)
                        if count is None:
                            window = self.state.rate[key]
                            while window and now - window[0] >= 1.0:
                                window.popleft()
                            count = len(window)
                        count += 1
                        counts[key] = count
                        if count > self.state.eps_limit:
                            target[value] = count
                            over = True
                if over:
                    throttled_events.append(i)
            if throttled_events:
                return {
                    "code": 429,
                    "error": "Too many requests for some devices and users",
                    "eps_threshold": self.state.eps_limit,
                    "throttled_devices": devices,
                    "throttled_users": users,
                    "throttled_events": throttled_events,
                }
            for event in events:
                for kind in ("user_id", "device_id"):
                    if event.get(kind):
                        self.state.rate[f"{kind}:{event[kind]}"].append(now)
        return None

    def _form(self, path: str, raw: bytes) -> tuple[int, dict[str, Any]]:
        fields = {k: v[0] for k, v in parse_qs(raw.decode(), keep_blank_values=True).items()}
        if "undefined" in fields.values():
            return 400, {"code": 400, "error": "Invalid field values", "field": "undefined literal"}
        if not fields.get("api_key"):
            return 400, {
                "code": 400,
                "error": "Request missing required field",
                "missing_field": "api_key",
            }
        if fields["api_key"] not in self.state.api_keys:
            return 400, {"code": 400, "error": f"Invalid API key: {fields['api_key']}"}
        name = "mapping" if path == "/usermap" else "identification"
        try:
            value = json.loads(fields.get(name, ""))
        except ValueError:
            return 400, {"code": 400, "error": "missing_event"}
        items = value if isinstance(value, list) else [value]
        with self.state.lock:
            self.state.identifications.extend({"path": path, **item} for item in items)
        return 200, {"code": 200}


if __name__ == "__main__":
    # A stand-in of its own process (benchmarks): print the URL, serve until stdin closes.
    import sys

    with Standin(eps_limit=10**9) as served:
        print(served.url, flush=True)
        sys.stdin.read()
