"""Helpers shared by the stream tests: a private nats-server, a JetStream reader, a recording
webhook receiver, and a checker of the Pinpoint record envelope (docs/spec/stream.md)."""

from __future__ import annotations

import json
import math
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import nats
import orjson

ENVELOPE_KEYS = {
    "event_type",
    "event_timestamp",
    "arrival_timestamp",
    "event_version",
    "application",
    "client",
    "device",
    "session",
    "attributes",
    "metrics",
    "event_id",
}
CAMPAIGN_FAMILY = ("_campaign.", "_inapp.")


class OwnServer:
    """A private nats-server with JetStream on an ephemeral port, restartable on the same
    port and store directory (to take the sink's server away mid-stream)."""

    def __init__(self, store_dir: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.store_dir = store_dir
        self.url = f"nats://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("nats-server")
        assert binary is not None, "nats-server must be installed"
        self.proc = subprocess.Popen(
            [binary, "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(self.store_dir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(200):
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.1):
                    return
            except OSError:
                time.sleep(0.02)
        raise AssertionError("nats-server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None


async def read_stream_at(url: str, name: str) -> list[tuple[dict[str, Any], dict[str, str]]]:
    """Every message of a JetStream stream, in stream order, with its headers."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        info = await js.stream_info(name)
        out = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            msg = await js.get_msg(name, seq)
            out.append((orjson.loads(msg.data or b""), dict(msg.headers or {})))
        return out
    finally:
        await nc.close()


class Receiver:
    """A webhook receiver on 127.0.0.1 answering each POST with ``status`` and keeping bodies."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.bodies: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                receiver.bodies.append(json.loads(self.rfile.read(length)))
                receiver.headers.append(dict(self.headers))
                payload = b'{"error": "refused"}' if receiver.status >= 400 else b"{}"
                self.send_response(receiver.status)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @contextmanager
    def running(self) -> Iterator[Receiver]:
        self.thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()


def check_envelope(record: dict[str, Any]) -> None:
    """Assert that ``record`` has the Pinpoint event-stream shape of docs/spec/stream.md."""
    missing = ENVELOPE_KEYS - set(record)
    assert not missing, (missing, record)
    kind = record["event_type"]
    assert isinstance(kind, str) and kind, record
    for key in ("event_timestamp", "arrival_timestamp"):
        assert type(record[key]) is int and record[key] >= 0, (key, record)
    campaign = kind.startswith(CAMPAIGN_FAMILY)
    assert record["event_version"] == ("3.1" if campaign else "3.0"), record
    application = record["application"]
    assert isinstance(application["app_id"], str) and application["app_id"]
    assert isinstance(application["sdk"], dict)
    client = record["client"]
    assert isinstance(client["client_id"], str) and client["client_id"]
    assert all(isinstance(v, str) for v in client.values())
    attributes, metrics = record["attributes"], record["metrics"]
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in attributes.items()), record
    for name, value in metrics.items():
        assert isinstance(name, str) and type(value) in (int, float) and math.isfinite(value)
    assert all(len(v) <= 200 for v in attributes.values())
    assert isinstance(record["event_id"], str) and record["event_id"]
    if campaign:
        assert application["sdk"] == {}
        assert record["device"] == {"platform": {}}
        assert record["session"] == {}
        endpoint = json.loads(record["client_context"]["custom"]["endpoint"])
        assert endpoint["ChannelType"] == "IN_APP"
        assert endpoint["EndpointStatus"] == "ACTIVE"
        assert "campaign_id" in attributes
    else:
        device = record["device"]
        assert isinstance(device["platform"], dict)
        assert isinstance(device.get("locale", {}), dict)
    if kind == "_campaign.send":
        for key in (
            "campaign_activity_id",
            "treatment_id",
            "delivery_type",
            "campaign_send_status",
        ):
            assert isinstance(attributes[key], str), (key, record)
        assert attributes["delivery_type"] in ("IN_APP", "CUSTOM")
    if kind == "_session.stop":
        assert "stop_timestamp" in record["session"]
        assert "duration_ms" in metrics
    if kind == "_monetization.purchase":
        for key in ("_quantity", "_item_price"):
            assert key in metrics
        for key in ("_product_id", "_currency"):
            assert key in attributes
