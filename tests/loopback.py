"""Loopback helpers shared by the suites that run a real server: a free port, an ASGI app served
by uvicorn on a thread, and ``tidings serve`` in a subprocess that can be stopped or killed."""

from __future__ import annotations

import contextlib
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import IO, Any

import uvicorn

from tidings.server.auth import sign


def signed_headers(
    app: dict[str, Any],
    body: bytes,
    request_id: str,
    *,
    path: str = "/api/v1/session",
    timestamp: int | None = None,
    sign_request_id: bool = True,
) -> dict[str, str]:
    """The headers an SDK sends with a signed upload for ``app`` (its ``apiKeyPublic`` and
    ``apiKeySecret``). ``sign_request_id`` false signs without the request id, as SDKs before
    0.2 did (the server accepts both)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signed_id = request_id if sign_request_id else None
    return {
        "Content-Type": "application/json",
        "X-Api-Key": app["apiKeyPublic"],
        "X-Timestamp": ts,
        "X-Request-Id": request_id,
        "X-Signature": sign(app["apiKeySecret"], "POST", path, body, ts, signed_id),
    }


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ThreadedServer:
    """uvicorn serving one app on 127.0.0.1 from a daemon thread."""

    def __init__(self) -> None:
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self, app: Any, port: int, *, timeout_s: float = 10.0) -> None:
        """Serve ``app`` on ``port``; returns once the server accepts connections."""
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="on")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + timeout_s
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError(f"the test server on port {port} did not start")
            time.sleep(0.01)
        self._server, self._thread = server, thread

    def stop(self) -> None:
        """Shut the server down (its lifespan included); a no-op when it is not running."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(10)
        self._server = self._thread = None


_RUNNING = re.compile(r"Uvicorn running on http://127\.0\.0\.1:(\d+)")
_SERVE = "import tidings.cli.serve; from tidings.cli import main; main()"


@dataclass
class ServeProcess:
    """A running ``tidings serve`` subprocess: its address and everything it has printed."""

    proc: subprocess.Popen[str]
    port: int
    log: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        """SIGKILL: the crash the durability tests need."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self, timeout_s: float = 15.0) -> None:
        """Ask it to stop (SIGTERM), and kill it if it does not within ``timeout_s``."""
        self.proc.terminate()
        try:
            self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:  # pragma: no cover - a hung shutdown
            self.proc.kill()
            self.proc.wait()


def start_serve(
    db_url: str,
    env: dict[str, str],
    *,
    port: int = 0,
    timeout_s: float = 30.0,
    program: Sequence[str] = (sys.executable, "-c", _SERVE),
    cwd: str | None = None,
    options: Sequence[str] = (),
    preexec_fn: Any = None,
) -> ServeProcess:
    """Start ``tidings serve`` on ``db_url`` (with extra command-line ``options``) and return
    once it listens.

    ``program`` is the command that runs ``tidings`` (by default this interpreter, so a test
    sees the working tree; the console script, or one installed elsewhere, works the same).
    Its output is read to the end on a thread (a chatty server never blocks on a full pipe) into
    ``log``; a server that never prints its start line fails within ``timeout_s``, never hangs.
    """
    proc = subprocess.Popen(
        [
            *program,
            "serve",
            "--db",
            db_url,
            "--port",
            str(port),
            "--no-access-log",
            *options,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=cwd,
        preexec_fn=preexec_fn,  # noqa: PLW1509 - a test sets a resource limit of the child
    )
    assert proc.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    log: list[str] = []

    def pump(stream: IO[str]) -> None:
        with contextlib.suppress(ValueError, OSError):
            for line in stream:
                log.append(line)
                lines.put(line)

    threading.Thread(target=pump, args=(proc.stdout,), daemon=True).start()
    deadline = time.monotonic() + timeout_s
    while (left := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            break
        match = _RUNNING.search(line)
        if match:
            return ServeProcess(proc, int(match.group(1)), log)
    proc.kill()
    proc.wait()
    raise RuntimeError("tidings serve did not start:\n" + "".join(log))
