"""Idle, slow and surplus connections against a real ``tidings serve``.

Hundreds of sockets that send nothing, or part of a request head, or a head and part of a body,
are closed by the server within their deadline, while ``/healthz`` keeps answering; past the
connection limit a new connection is answered 503 with ``Retry-After``; the open-files limit is
raised at start.
"""

from __future__ import annotations

import os
import resource
import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from loopback import ServeProcess, start_serve

pytestmark = pytest.mark.reliability

IDLE = 300
PARTIAL = 200
DEADLINE_S = 1.0


def _serve(tmp_path: Path, *options: str, preexec_fn: object = None) -> ServeProcess:
    env = {**os.environ, "TIDINGS_SECRET_KEY": "11" * 32}
    return start_serve(
        f"sqlite:///{tmp_path / 'tidings.db'}",
        env,
        options=["--no-pipeline", *options],
        preexec_fn=preexec_fn,
    )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServeProcess]:
    proc = _serve(
        tmp_path,
        "--header-timeout",
        str(DEADLINE_S),
        "--body-timeout",
        str(DEADLINE_S),
        "--idle-timeout",
        str(DEADLINE_S),
        "--max-connections",
        str(IDLE + PARTIAL + 50),
    )
    try:
        yield proc
    finally:
        proc.stop()


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.setblocking(False)
    return sock


def _read_until_closed(socks: list[socket.socket], within_s: float) -> dict[int, bytes]:
    """What each socket received until the server closed it; fails if one stays open."""
    received: dict[int, bytes] = {s.fileno(): b"" for s in socks}
    open_socks = {s.fileno(): s for s in socks}
    deadline = time.monotonic() + within_s
    while open_socks:
        left = deadline - time.monotonic()
        assert left > 0, f"{len(open_socks)} of {len(socks)} connections are still open"
        ready, _, _ = select.select(list(open_socks.values()), [], [], min(left, 0.5))
        for sock in ready:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                chunk = b""
            if chunk:
                received[sock.fileno()] += chunk
            else:
                del open_socks[sock.fileno()]
    return received


def _healthz(server: ServeProcess) -> int:
    return httpx.get(server.base + "/healthz", timeout=5).status_code


def test_idle_and_partial_connections_are_closed_and_healthz_keeps_answering(
    server: ServeProcess,
) -> None:
    idle = [_connect(server.port) for _ in range(IDLE)]
    partial = [_connect(server.port) for _ in range(PARTIAL)]
    for sock in partial:
        sock.send(b"POST /api/v1/session HTTP/1.1\r\nHost: tidings\r\n")
    slow_body = _connect(server.port)
    slow_body.send(
        b"POST /v1/batch HTTP/1.1\r\nHost: tidings\r\nAuthorization: Basic d2s6\r\n"
        b"Content-Length: 100\r\n\r\n{"
    )
    assert _healthz(server) == 200
    # Trickling one header line at a time does not hold a connection open either.
    started = time.monotonic()
    while time.monotonic() - started < DEADLINE_S / 2:
        for sock in partial[:20]:
            sock.send(b"X-Trickle: 1\r\n")
        time.sleep(0.1)
    assert _healthz(server) == 200

    received = _read_until_closed([*idle, *partial, slow_body], within_s=DEADLINE_S + 4)
    assert all(received[s.fileno()] == b"" for s in idle), "an idle connection got an answer"
    for sock in partial:
        head, _, body = received[sock.fileno()].partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 408 "), head
        assert orjson.loads(body)["error"]["code"] == "request_timeout"
    assert received[slow_body.fileno()] == b"", "a body that never finished was answered"
    assert _healthz(server) == 200
    for sock in [*idle, *partial, slow_body]:
        sock.close()
    assert "Traceback" not in "".join(server.log), "".join(server.log)


def test_a_kept_alive_connection_is_closed_after_the_idle_timeout(server: ServeProcess) -> None:
    sock = _connect(server.port)
    sock.send(b"GET /healthz HTTP/1.1\r\nHost: tidings\r\n\r\n")
    received = _read_until_closed([sock], within_s=DEADLINE_S + 4)
    assert received[sock.fileno()].startswith(b"HTTP/1.1 200 ")
    sock.close()


def test_past_the_connection_limit_a_new_connection_gets_503(tmp_path: Path) -> None:
    limit = 20
    proc = _serve(tmp_path, "--max-connections", str(limit), "--header-timeout", "30")
    try:
        held = [_connect(proc.port) for _ in range(limit)]
        time.sleep(0.2)  # the server has accepted them all
        refused = httpx.get(proc.base + "/healthz", timeout=5)
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "5"
        assert refused.json()["error"]["code"] == "too_many_connections"
        for sock in held:
            sock.close()
        time.sleep(0.2)
        assert _healthz(proc) == 200
    finally:
        proc.stop()


def _low_soft_limit() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))


def _open_files_limit(pid: int) -> tuple[str, str]:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            soft, hard = line.split()[3:5]
            return soft, hard
    raise AssertionError("no open-files line in /proc/PID/limits")


def test_the_open_files_soft_limit_is_raised_at_start(tmp_path: Path) -> None:
    proc = _serve(tmp_path, preexec_fn=_low_soft_limit)
    try:
        soft, hard = _open_files_limit(proc.proc.pid)
        assert soft == hard, (soft, hard)
    finally:
        proc.stop()
