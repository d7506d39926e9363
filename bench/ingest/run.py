"""Ingest throughput and latency: ``tidings serve`` against a minimal raw-ASGI + SQLite baseline.

Both servers run in the same invocation, one after the other, each pinned to CPU 1 while this
load generator runs on CPU 0. Each request is a signed ``POST /api/v1/session`` with 100 fresh
events (unique ids, fresh request id); requests are built and signed before the clock starts so
the generator spends its time on the sockets. Reported: requests/s, events/s, p50 and p99
latency at the given concurrency, and the ratio real/baseline.

    .venv/bin/python bench/ingest/run.py [--connections 64] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "src"))

from tidings.server.auth import sign  # noqa: E402
from tidings.storage import open_store  # noqa: E402

EVENTS_PER_REQUEST = 100
SERVER_CPU = 1
CLIENT_CPU = 0


@dataclass
class Target:
    name: str
    port: int
    requests: list[bytes]


@dataclass
class Result:
    name: str
    requests: int
    seconds: float
    latencies: list[float]
    errors: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def _pin(cpu: int) -> None:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > cpu:
        os.sched_setaffinity(0, {cpu})


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(args: Sequence[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    """Start a server on ``port`` (output discarded: an access log must not fill a pipe)."""
    proc = subprocess.Popen(
        list(args),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        preexec_fn=lambda: _pin(SERVER_CPU),  # noqa: PLW1509 - affinity must be set in the child
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: {' '.join(args)}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start listening")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _body(app_id: str, n: int) -> bytes:
    prefix = uuid.uuid4().hex
    now = int(time.time() * 1000)
    events = [
        {
            "id": f"{prefix}-{i}",
            "name": "PurchaseCompleted" if i % 3 else "ScreenViewed",
            "type": "custom",
            "timestamp": now + i,
            "sessionId": "s-1",
            "properties": {"price": 9.99, "plan": "annual", "count": i, "trial": i % 2 == 0},
        }
        for i in range(n)
    ]
    return orjson.dumps(
        {
            "appId": app_id,
            "device": {"deviceId": f"dev-{prefix[:8]}", "platform": "ios", "osVersion": "17.1"},
            "user": {"userId": None},
            "sessions": [{"id": "s-1", "counter": 1, "type": "cold", "startedAt": now}],
            "events": events,
        }
    )


def _request(port: int, key: str, secret: str | bytes, body: bytes) -> bytes:
    ts = str(int(time.time()))
    path = "/api/v1/session"
    signature = sign(secret, "POST", path, body, ts)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nX-Api-Key: {key}\r\nX-Timestamp: {ts}\r\n"
        f"X-Request-Id: {uuid.uuid4()}\r\nX-Signature: {signature}\r\n\r\n"
    )
    return head.encode("ascii") + body


async def _worker(port: int, queue: list[bytes], latencies: list[float], stop_at: float) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    errors = 0
    try:
        while queue and time.perf_counter() < stop_at:
            request = queue.pop()
            started = time.perf_counter()
            writer.write(request)
            status_line = await reader.readline()
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if b" 200 " not in status_line:
                errors += 1
    finally:
        writer.close()
    return errors


async def _load(target: Target, connections: int, seconds: float) -> Result:
    queue = list(target.requests)
    latencies: list[float] = []
    warm = queue[-connections * 5 :]
    del queue[-connections * 5 :]
    await asyncio.gather(
        *(_worker(target.port, warm, [], time.perf_counter() + 30) for _ in range(connections))
    )
    started = time.perf_counter()
    stop_at = started + seconds
    errors = await asyncio.gather(
        *(_worker(target.port, queue, latencies, stop_at) for _ in range(connections))
    )
    elapsed = time.perf_counter() - started
    if not queue:
        print(f"  note: {target.name} drained all prepared requests in {elapsed:.1f}s", flush=True)
    return Result(target.name, len(latencies), elapsed, latencies, sum(errors))


async def _tidings_credentials(url: str, key: bytes) -> tuple[str, str, str]:
    store = await open_store(url, server_key=key)
    try:
        project = await store.create_project("bench")
        creds = await store.create_app(project.id, "bench", "ios")
        return creds.app_id, creds.api_key_public, creds.api_key_secret
    finally:
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--requests", type=int, default=6000, help="prepared per target")
    args = parser.parse_args()
    _pin(CLIENT_CPU)
    workdir = Path(tempfile.mkdtemp(prefix="tidings-bench-"))
    server_key = os.urandom(32)
    env = {**os.environ, "TIDINGS_SECRET_KEY": server_key.hex()}
    results: list[Result] = []
    try:
        url = f"sqlite:///{workdir / 'tidings.db'}"
        app_id, public, secret = asyncio.run(_tidings_credentials(url, server_key))
        code = "import tidings.cli.serve; from tidings.cli import main; main()"
        port = _free_port()
        proc = _start(
            [
                sys.executable,
                "-c",
                code,
                "serve",
                "--db",
                url,
                "--port",
                str(port),
                "--no-access-log",
            ],
            env,
            port,
        )
        try:
            print(
                f"preparing {args.requests} signed requests of {EVENTS_PER_REQUEST} events",
                flush=True,
            )
            bodies = [_body(app_id, EVENTS_PER_REQUEST) for _ in range(args.requests)]
            reqs = [_request(port, public, secret, b) for b in bodies]
            results.append(
                asyncio.run(_load(Target("tidings", port, reqs), args.connections, args.seconds))
            )
        finally:
            _stop(proc)
        port = _free_port()
        proc = _start(
            [
                sys.executable,
                str(HERE / "baseline.py"),
                "--db",
                str(workdir / "baseline.db"),
                "--port",
                str(port),
            ],
            env,
            port,
        )
        try:
            from baseline import SECRET

            reqs = [_request(port, "k", SECRET, b) for b in bodies]
            results.append(
                asyncio.run(_load(Target("baseline", port, reqs), args.connections, args.seconds))
            )
        finally:
            _stop(proc)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    print(
        f"\n{args.connections} connections, {EVENTS_PER_REQUEST} events/request, "
        f"server on CPU {SERVER_CPU}"
    )
    print(f"{'target':<10} {'req/s':>8} {'events/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for r in results:
        print(
            f"{r.name:<10} {r.rps:>8.1f} {r.rps * EVENTS_PER_REQUEST:>10.0f} "
            f"{r.pct(0.50):>8.1f} {r.pct(0.99):>8.1f} {r.errors:>7}"
        )
    tidings, baseline = results
    print(f"\nthroughput ratio tidings/baseline: {tidings.rps / baseline.rps:.2f}")
    print(f"p99 ratio tidings/baseline:        {tidings.pct(0.99) / baseline.pct(0.99):.2f}")


if __name__ == "__main__":
    main()
