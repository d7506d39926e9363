"""Webhook sink against a real HTTP receiver on 127.0.0.1 that misbehaves on purpose."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson
import pytest

from tidings.streams.sink import FilePosition, ListSource, SinkRunner, SinkUnavailableError
from tidings.streams.webhook import RetryPolicy, WebhookSink, read_dead_letters

Records = Callable[..., list[dict[str, Any]]]
FAST = RetryPolicy(base_seconds=0.001, max_seconds=0.01, attempts=3)


class Receiver:
    """An HTTP server whose answers follow a script; ``"slow"`` stores the batch, then stalls
    past the client's timeout (the worst case: delivered, but the sender never hears so)."""

    def __init__(self) -> None:
        self.script: list[Any] = []
        self.accepted: list[dict[str, Any]] = []
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.reject_event: str | None = None
        self.max_events: int | None = None
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.requests.append((dict(self.headers), body))
                    action = receiver.script.pop(0) if receiver.script else 200
                    events = orjson.loads(body)["events"]
                    if receiver.reject_event in {e["event_id"] for e in events}:
                        action = 400
                    if receiver.max_events is not None and len(events) > receiver.max_events:
                        action = 413
                    if action in (200, "slow"):
                        receiver.accepted.extend(events)
                if action == "slow":
                    time.sleep(0.5)
                    action = 200
                status = int(action)
                payload = b'{"ok":true}' if status == 200 else b'{"error":"nope"}'
                self.send_response(status)
                if status == 429:
                    self.send_header("Retry-After", "0")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/stream?k=1"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def drive(runner: SinkRunner) -> int:
    """The pipeline's loop: keep going until caught up, retrying while the sink is down."""
    failures = 0
    while True:
        try:
            runner.run_until_idle()
            return failures
        except SinkUnavailableError:
            failures += 1
            assert failures < 50


def test_posts_events_with_version_header(
    tmp_path: Path, receiver: Receiver, records_factory: Records
) -> None:
    records = records_factory(7)
    sink = WebhookSink(receiver.url, dead_letter_path=tmp_path / "dead.jsonl", backoff=FAST)
    sink.deliver(records)
    sink.close()
    ((headers, body),) = receiver.requests
    assert headers["Tidings-Stream-Version"] == "1"
    assert headers["Content-Type"] == "application/json"
    assert orjson.loads(body) == {"events": records}


def test_receiver_failing_for_a_while_loses_nothing(
    tmp_path: Path, receiver: Receiver, records_factory: Records
) -> None:
    records = records_factory(120)
    receiver.script = [503, 500, 429, "slow", 502, 503, 503, 503, 200, 429, 504]
    sink = WebhookSink(
        receiver.url,
        dead_letter_path=tmp_path / "dead.jsonl",
        backoff=FAST,
        timeout=0.2,
        max_batch=25,
    )
    positions = FilePosition(tmp_path / "webhook.position")
    runner = SinkRunner(ListSource(records), sink, positions, batch_size=50)
    failures = drive(runner)
    sink.close()
    assert failures >= 1  # three 503s in a row outlast one deliver call
    assert positions.load() == 119
    got = [e["event_id"] for e in receiver.accepted]
    assert set(got) == {r["event_id"] for r in records}
    # The stalled request was stored and then sent again: same records, same ids.
    assert len(got) > len(records)
    by_id: dict[str, dict[str, Any]] = {}
    for event in receiver.accepted:
        assert by_id.setdefault(event["event_id"], event) == event
    seen: set[str] = set()
    in_order = [
        e for e in receiver.accepted if not (e["event_id"] in seen or seen.add(e["event_id"]))
    ]
    assert in_order == records
    assert read_dead_letters(tmp_path / "dead.jsonl") == []


def test_other_4xx_goes_to_dead_letter_and_stream_moves_on(
    tmp_path: Path, receiver: Receiver, records_factory: Records
) -> None:
    records = records_factory(30)
    receiver.reject_event = records[12]["event_id"]
    sink = WebhookSink(
        receiver.url, dead_letter_path=tmp_path / "dead.jsonl", backoff=FAST, max_batch=10
    )
    runner = SinkRunner(ListSource(records), sink, FilePosition(tmp_path / "p"), batch_size=10)
    assert drive(runner) == 0
    sink.close()
    (letter,) = read_dead_letters(tmp_path / "dead.jsonl")
    assert letter["status"] == 400
    assert letter["response"] == '{"error":"nope"}'
    assert letter["url"] == receiver.url
    assert letter["events"] == records[10:20]
    assert receiver.accepted == records[:10] + records[20:]
    assert sink.dead_lettered == 10
    assert runner.position == 29


def test_too_large_batches_are_split_until_they_fit(
    tmp_path: Path, receiver: Receiver, records_factory: Records
) -> None:
    records = records_factory(50)
    receiver.max_events = 7
    sink = WebhookSink(receiver.url, dead_letter_path=tmp_path / "dead.jsonl", backoff=FAST)
    sink.deliver(records)
    sink.close()
    assert receiver.accepted == records
    assert read_dead_letters(tmp_path / "dead.jsonl") == []


def test_unreachable_receiver_keeps_the_position(tmp_path: Path, records_factory: Records) -> None:
    records = records_factory(5)
    # A port nothing listens on: take one, then release it.
    probe = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = probe.server_address[1]
    probe.server_close()
    sink = WebhookSink(
        f"http://127.0.0.1:{port}/", dead_letter_path=tmp_path / "dead.jsonl", backoff=FAST
    )
    positions = FilePosition(tmp_path / "p")
    runner = SinkRunner(ListSource(records), sink, positions)
    with pytest.raises(SinkUnavailableError):
        runner.run_once()
    assert positions.load() is None
    assert sink.requests_sent == FAST.attempts
    sink.close()


def test_bad_url_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="http"):
        WebhookSink("ftp://example/", dead_letter_path=tmp_path / "d")
