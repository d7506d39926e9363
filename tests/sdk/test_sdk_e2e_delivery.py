"""Delivery against a real server: outages, crashes, refused keys, clock skew, fork, exit."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import orjson
import pytest
from sdk_harness import LiveServer
from sdk_helpers import MakeClient, SystemEvents, deep_link, manifest
from sdk_proxy import LossyProxy

from tidings.sdk import Tidings
from tidings.sdk.store import DeviceStore

HERE = Path(__file__).parent


def ticks(server: LiveServer) -> list[int]:
    return [e["properties"]["i"] for e in server.stored_events() if e["name"] == "Tick"]


def assert_unique_ids(server: LiveServer) -> None:
    ids = [e["id"] for e in server.stored_events()]
    assert len(ids) == len(set(ids))


@pytest.mark.reliability
def test_server_down_then_up_loses_and_duplicates_nothing(
    server: LiveServer, make_client: MakeClient
) -> None:
    client = make_client(server, upload_batch_size=7)
    client.track("Tick", {"i": -1})
    assert client.flush(10)
    server.stop()
    for i in range(30):
        client.track("Tick", {"i": i})
    assert client.flush(5) is False
    assert client.pending_count() == 60
    server.start()
    assert client.flush(10)
    assert sorted(ticks(server)) == list(range(-1, 30))
    assert_unique_ids(server)


@pytest.mark.slow
@pytest.mark.reliability
def test_killed_mid_upload_then_restarted_loses_nothing(server: LiveServer, tmp_path: Path) -> None:
    data_dir = tmp_path / "app"
    kwargs = dict(server.client_kwargs(), upload_batch_size=5, upload_interval=0.01)
    args = [sys.executable, str(HERE / "sdk_child.py")]
    child = subprocess.Popen(
        [*args, "track", str(data_dir), orjson.dumps(kwargs).decode(), "400"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    returned = -1
    for line in child.stdout:
        if line.strip() == "stopped":  # with batches of 5 every 10 ms, uploads are under way
            break
        returned = int(line)
    # Killed right after the last track() returned: that one, too, must be on disk.
    assert returned == 399
    child.send_signal(signal.SIGKILL)
    child.wait(10)
    left = DeviceStore(data_dir / "tidings.sqlite3")
    assert left.outbox.pending > 0  # the kill left undelivered events behind
    left.close()
    restart = subprocess.run(
        [*args, "flush", str(data_dir), orjson.dumps(kwargs).decode()], timeout=60
    )
    assert restart.returncode == 0
    stored = Counter(ticks(server))
    assert all(stored[i] == 1 for i in range(returned + 1)), "a returned track() was lost"
    assert max(stored.values()) == 1
    assert_unique_ids(server)
    finished = [e for e in server.stored_events() if e["name"] == "SessionFinished"]
    assert len(finished) == 2  # the killed session (on restart) and the restarted one (close)


def test_refused_keys_pause_uploads_and_keep_events(
    server: LiveServer, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="tidings.sdk"):
        client = make_client(server, api_key_secret="sk_wrong")
        client.track("Tick", {"i": 0})
        assert client.flush(10) is False
        assert client.paused
    assert any("PAUSED" in r.getMessage() and "403" in r.getMessage() for r in caplog.records)
    pending = client.pending_count()
    assert pending > 0
    time.sleep(0.2)  # a paused client does not retry on its own
    assert client.pending_count() == pending
    assert ticks(server) == []
    client.close()
    fixed = make_client(server)  # the app ships working keys: everything queued is sent
    assert fixed.flush(10)
    assert ticks(server) == [0]


def test_server_clock_offset_is_applied(tmp_path: Path, make_client: MakeClient) -> None:
    skew_s = 3600.0
    server = LiveServer(tmp_path / "skewed", skew_s=skew_s)
    server.start()
    try:
        client = make_client(server)
        # The first upload is signed with device time, an hour behind: the server refuses it
        # as stale, the client learns the offset and the retry succeeds.
        assert client.flush(10) or client.flush(10)
        client.track("Tick", {"i": 1})
        assert client.flush(10)
        [tick] = [e for e in server.stored_events() if e["name"] == "Tick"]
        now_ms = time.time() * 1000
        assert abs(tick["timestamp"] - (now_ms + skew_s * 1000)) < 60_000
        device = client.get_data_set_snapshot("@device")
        assert abs(device["serverTime"] - (time.time() * 1000 + skew_s * 1000)) < 60_000
    finally:
        server.stop()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX only")
def test_fork_restarts_the_worker_in_the_child(server: LiveServer, make_client: MakeClient) -> None:
    client = make_client(server)
    client.track("Tick", {"i": 0})
    assert client.flush(10)
    pid = os.fork()
    if pid == 0:  # the child: the worker is restarted, uploads work
        code = 1
        try:
            client.track("Tick", {"i": 1})
            code = 0 if client.flush(10) else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    client.track("Tick", {"i": 2})
    assert client.flush(10)
    assert sorted(ticks(server)) == [0, 1, 2]
    assert_unique_ids(server)


def test_exit_without_close_flushes_at_exit(server: LiveServer, tmp_path: Path) -> None:
    kwargs = dict(server.client_kwargs(), upload_interval=60.0)
    result = subprocess.run(
        [
            sys.executable,
            str(HERE / "sdk_child.py"),
            "exit",
            str(tmp_path / "app"),
            orjson.dumps(kwargs).decode(),
        ],
        timeout=60,
    )
    assert result.returncode == 0
    assert sorted(ticks(server)) == list(range(10))


def test_lost_response_is_retried_with_the_same_request_id(
    server: LiveServer, make_client: MakeClient
) -> None:
    proxy = LossyProxy(server.url)
    try:
        client = make_client(server, backend_url=proxy.url)
        assert client.flush(10)
        proxy.lose_responses = 1
        for i in range(5):
            client.track("Tick", {"i": i})
        assert client.flush(10) is False  # the response never came back
        assert client.flush(10)  # the retry: same request id, stored response
        first, retry = proxy.uploads()[-2:]
        assert first["x-request-id"] == retry["x-request-id"]
        assert sorted(ticks(server)) == list(range(5))
        assert_unique_ids(server)
        assert client.pending_count() == 0
    finally:
        proxy.close()


def test_an_upload_resent_after_a_restart_is_the_same_request_byte_for_byte(
    server: LiveServer, make_client: MakeClient
) -> None:
    """The session ends while its upload's answer is lost; after a restart the upload goes out
    again under its request id with the very same body (the server refuses a known request id
    with another body), and is answered from the stored response."""
    proxy = LossyProxy(server.url)
    try:
        client = make_client(server, backend_url=proxy.url)
        assert client.flush(10)
        proxy.lose_responses = 2  # the flush below, and the one close() tries
        for i in range(5):
            client.track("Tick", {"i": i})
        assert client.flush(10) is False
        client.close(timeout=2.0)  # ends the session: its block in a rebuilt envelope changes
        again = make_client(server, backend_url=proxy.url)
        assert again.flush(10)
        uploads = proxy.uploads()
        ticked = uploads[1]["x-request-id"]  # the first flush was uploads[0]
        tries = [u for u in uploads if u["x-request-id"] == ticked]
        assert len(tries) == 3  # lost, lost on close, resent by the restarted client
        assert len({u["body-sha256"] for u in tries}) == 1
        assert tries[-1]["status"] == "200"
        assert sorted(ticks(server)) == list(range(5))
        assert_unique_ids(server)
    finally:
        proxy.close()


def test_decisions_are_uploaded_with_the_events(
    server: LiveServer, make_client: MakeClient
) -> None:
    campaign_id = server.create_campaign(
        {
            "name": "Promo",
            "type": "DeepLink",
            "triggering": {"event": {"name": "Tick", "type": "custom"}},
            "content": {"url": "myapp://promo"},
        }
    )
    client = make_client(server)
    SystemEvents(client).wait_for("ConfigFetchFinished")
    client.track("Tick", {"i": 0})
    assert client.flush(10)
    [decision] = server.stored_decisions()
    [tick] = [e for e in server.stored_events() if e["name"] == "Tick"]
    assert decision["campaignId"] == campaign_id
    assert decision["status"] == "SUCCESS"
    assert decision["eventId"] == tick["id"]
    assert decision["timestamp"] == tick["timestamp"]


def test_concurrent_track_from_many_threads(server: LiveServer, make_client: MakeClient) -> None:
    client = make_client(server, upload_batch_size=50)
    errors: list[BaseException] = []

    def worker(base: int) -> None:
        try:
            for i in range(100):
                client.track("Tick", {"i": base + i})
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k * 1000,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert client.flush(20)
    expected = sorted(k * 1000 + i for k in range(4) for i in range(100))
    assert sorted(ticks(server)) == expected
    assert_unique_ids(server)
    assert client.get_data_set_snapshot("@triggeredEvent", event_name="Tick") == {"count": 400}


@pytest.mark.reliability
def test_counts_survive_a_kill_before_the_state_save(tmp_path: Path) -> None:
    """Campaign limits and history are rebuilt from the committed events after a crash."""
    config = manifest(deep_link("Once", "Opened", "myapp://once", triggering_limit=True))
    kwargs = {
        "app_id": "app",
        "api_key_public": "pk",
        "api_key_secret": "sk",
        "backend_url": "http://127.0.0.1:9",
        "default_config": config,
    }
    data_dir = tmp_path / "app"
    child = subprocess.Popen(
        [
            sys.executable,
            str(HERE / "sdk_child.py"),
            "once",
            str(data_dir),
            orjson.dumps(kwargs).decode(),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "tracked"
    child.send_signal(signal.SIGKILL)
    child.wait(10)
    links: list[str] = []
    with Tidings(data_dir=data_dir, **kwargs) as client:
        client.register_deep_link_listener(lambda url, info: links.append(url) or True)
        assert client.get_data_set_snapshot("@triggeredEvent", event_name="Opened") == {"count": 1}
        client.track("Opened")  # the device limit of one show was used by the killed process
        shown = [e for e in client.get_recent_events(100) if e.name == "CampaignShown"]
        assert len(shown) == 1
    assert links == []
