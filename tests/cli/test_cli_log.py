"""``--log``: migrate makes the JetStream stream; bad URLs and mismatches are one line."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_support import clean_env, tidings

sys.path.insert(0, str(Path(__file__).parents[1] / "storage"))
from storage_support import own_stream

pytestmark = pytest.mark.nats


def test_migrate_makes_the_stream_and_refuses_a_mismatch(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 't.db'}"
    with own_stream(partitions=8) as log:
        made = tidings("migrate", "--db", db, "--log", log, env=clean_env())
        assert made.returncode == 0, made.stderr
        assert "8 partitions" in made.stdout
        again = tidings("migrate", "--db", db, env=clean_env(TIDINGS_LOG=log))
        assert again.returncode == 0, again.stderr
        other = log.replace("partitions=8", "partitions=16")
        refused = tidings("migrate", "--db", db, "--log", other, env=clean_env())
        assert refused.returncode == 2
        assert refused.stderr.startswith(f"error: stream {log.split('stream=')[1].split('&')[0]}")
        assert "has 8 partitions" in refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1
        assert "Traceback" not in refused.stderr


def test_a_bad_log_url_names_the_option(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 't.db'}"
    bad = tidings("migrate", "--db", db, "--log", "nats://h:4222?partitions=0", env=clean_env())
    assert bad.returncode == 2
    assert bad.stderr == "error: --log: log.partitions: must be between 1 and 1024\n"
    assert not (tmp_path / "t.db").exists()


def test_a_server_without_jetstream_is_one_line(tmp_path: Path) -> None:
    """A NATS server that answers but has no JetStream (or none with a leader yet) is refused
    with one line naming the log, not a traceback."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    binary = shutil.which("nats-server") or "/usr/sbin/nats-server"
    server = subprocess.Popen(
        [binary, "-a", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "nats-server did not start"
                time.sleep(0.05)
        db = f"sqlite:///{tmp_path / 't.db'}"
        log = f"nats://127.0.0.1:{port}?stream=NOJS"
        refused = tidings("migrate", "--db", db, "--log", log, env=clean_env())
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert refused.returncode == 2, refused.stderr
    errors = [line for line in refused.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        f"error: the event log at nats://127.0.0.1:{port}/NOJS did not answer"
        " (ServiceUnavailableError: is JetStream enabled, and has it a leader?)"
    ]
    assert "Traceback" not in refused.stderr
