"""Ingest throughput and latency: ``tidings serve`` against a minimal raw-ASGI + SQLite baseline.

Both servers run in the same invocation, one after the other, each pinned to CPU 1 while this
load generator runs on CPU 0. Each request is a signed ``POST /api/v1/session`` with 100 fresh
events (unique ids, fresh request id); requests are built and signed before the clock starts so
the generator spends its time on the sockets. Reported: requests/s, events/s, p50 and p99
latency at the given concurrency, the server's CPU time per request, and the ratios
real/baseline. ``--rounds N`` alternates the two targets N times, because on a shared machine
the disk (every commit waits for an fsync) drifts between runs far more than between the two
halves of one round.

By default every connection sends its next request as soon as the last is answered (closed
loop): that measures capacity, and latency is then 64 in-flight requests divided by it. With
``--rate R`` the connections instead offer R requests/s in all, evenly paced, which measures
latency at a given load, counted from when each request was due.

``--before DIR`` adds a third target to every round: ``tidings serve`` from another source tree
(an earlier commit, e.g. ``git archive REV | tar -x -C DIR``), on a database of its own, with
requests signed in the form that tree knows (without the request id). Its ratio to the
baseline, next to the current tree's, shows a change's cost measured in the same run.

    .venv/bin/python bench/ingest/run.py [--rounds 3] [--connections 64] [--seconds 10]
        [--rate 600] [--postgres postgresql://postgres@127.0.0.1:5432/test]
        [--profile out.prof] [--before DIR]
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
from typing import Any

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
    pid: int = 0


@dataclass
class Result:
    name: str
    requests: int
    seconds: float
    latencies: list[float]
    errors: int
    cpu_seconds: float = 0.0
    """CPU time the server process (all threads) spent during the timed part."""

    @property
    def cpu_ms_per_request(self) -> float:
        return self.cpu_seconds * 1000 / max(1, self.requests)

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


def _request(
    port: int, key: str, secret: str | bytes, body: bytes, *, sign_request_id: bool = True
) -> bytes:
    """A signed upload as the SDK sends it (the signature covers the request id; without
    ``sign_request_id`` in the older form, for trees that predate it)."""
    ts = str(int(time.time()))
    path = "/api/v1/session"
    request_id = str(uuid.uuid4())
    signature = sign(secret, "POST", path, body, ts, request_id if sign_request_id else None)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nX-Api-Key: {key}\r\nX-Timestamp: {ts}\r\n"
        f"X-Request-Id: {request_id}\r\nX-Signature: {signature}\r\n\r\n"
    )
    return head.encode("ascii") + body


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> bool:
    """Send one request and read its response; returns whether it was a 200."""
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
    return b" 200 " in status_line


async def _worker(
    port: int,
    queue: list[bytes],
    latencies: list[float],
    stop_at: float,
    schedule: tuple[float, float] | None = None,
) -> int:
    """One connection. Closed loop (the next request as soon as the answer is in), or with
    ``schedule = (first, interval)`` paced: request ``i`` is due at ``first + i * interval``
    and its latency counts from that moment, so a server that falls behind is charged for
    the wait too (no coordinated omission)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    errors = 0
    sent = 0
    try:
        while queue and time.perf_counter() < stop_at:
            request = queue.pop()
            if schedule is None:
                started = time.perf_counter()
            else:
                started = schedule[0] + sent * schedule[1]
                delay = started - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            sent += 1
            if not await _exchange(reader, writer, request):
                errors += 1
            latencies.append(time.perf_counter() - started)
    finally:
        writer.close()
    return errors


async def _load(target: Target, connections: int, seconds: float, rate: float = 0) -> Result:
    """Drive ``target`` for ``seconds``: closed loop, or paced at ``rate`` requests/s in all."""
    queue = list(target.requests)
    latencies: list[float] = []
    warm = queue[-connections * 5 :]
    del queue[-connections * 5 :]
    await asyncio.gather(
        *(_worker(target.port, warm, [], time.perf_counter() + 30) for _ in range(connections))
    )
    cpu_before = _cpu_seconds(target.pid)
    started = time.perf_counter()
    stop_at = started + seconds
    interval = connections / rate if rate else 0.0
    errors = await asyncio.gather(
        *(
            _worker(
                target.port,
                queue,
                latencies,
                stop_at,
                (started + k * interval / connections, interval) if rate else None,
            )
            for k in range(connections)
        )
    )
    elapsed = time.perf_counter() - started
    cpu = _cpu_seconds(target.pid) - cpu_before
    if not queue:
        print(f"  note: {target.name} drained all prepared requests in {elapsed:.1f}s", flush=True)
    return Result(target.name, len(latencies), elapsed, latencies, sum(errors), cpu)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc (0 where there is no /proc).

    CPU per request is the figure that survives a shared machine: throughput and latency also
    measure whoever else is using the disk and the cores, CPU time measures only the server.
    """
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _tidings_credentials(url: str, key: bytes) -> tuple[str, str, str]:
    store = await open_store(url, server_key=key)
    try:
        project = await store.create_project("bench")
        creds = await store.create_app(project.id, "bench", "ios")
        return creds.app_id, creds.api_key_public, creds.api_key_secret
    finally:
        await store.close()


def _drop_schema(dsn: str, schema: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def _with_source(env: dict[str, str], src: Path | None) -> dict[str, str]:
    """``env`` that imports tidings from the source tree ``src`` (the installed one if None)."""
    if src is None:
        return env
    path = os.pathsep.join(p for p in (str(src / "src"), env.get("PYTHONPATH", "")) if p)
    return {**env, "PYTHONPATH": path}


def _credentials_from(src: Path, url: str, env: dict[str, str]) -> tuple[str, str, str]:
    """Create the bench app with the code of ``src`` (its own migrations on its own database)."""
    code = (
        "import asyncio, os, sys\n"
        "from tidings.storage import open_store\n"
        "async def go():\n"
        "    store = await open_store(sys.argv[1], server_key=bytes.fromhex("
        "os.environ['TIDINGS_SECRET_KEY']))\n"
        "    try:\n"
        "        project = await store.create_project('bench')\n"
        "        c = await store.create_app(project.id, 'bench', 'ios')\n"
        "        print(c.app_id, c.api_key_public, c.api_key_secret)\n"
        "    finally:\n"
        "        await store.close()\n"
        "asyncio.run(go())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, url],
        env=_with_source(env, src),
        check=True,
        capture_output=True,
        text=True,
    )
    app_id, public, secret = out.stdout.split()
    return app_id, public, secret


def _serve_tidings(url: str, env: dict[str, str], profile: str | None) -> tuple[Any, int]:
    code = "import tidings.cli.serve; from tidings.cli import main; main()"
    if profile:
        # uvicorn re-raises SIGTERM after its graceful shutdown; turning it into SystemExit
        # lets cProfile write the stats before the process ends.
        code = (
            "import cProfile, signal, sys, tidings.cli.serve; from tidings.cli import main\n"
            "signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))\n"
            f"cProfile.run('main()', {profile!r})"
        )
    port = _free_port()
    args = [sys.executable, "-c", code, "serve", "--db", url, "--port", str(port)]
    return _start([*args, "--no-access-log"], env, port), port


@dataclass
class Before:
    """The ``--before`` target: another source tree, its database and its app."""

    src: Path
    url: str
    creds: tuple[str, str, str]


def _round(
    url: str,
    workdir: Path,
    *,
    env: dict[str, str],
    creds: tuple[str, str, str],
    args: argparse.Namespace,
    number: int,
    before: Before | None = None,
) -> tuple[Result, Result, Result | None]:
    """Every target, back to back, on requests with fresh ids (same bodies for all)."""
    app_id, public, secret = creds
    print(f"round {number}: preparing {args.requests} requests", flush=True)
    bodies = [_body(app_id, EVENTS_PER_REQUEST) for _ in range(args.requests)]
    proc, port = _serve_tidings(url, env, args.profile)
    try:
        reqs = [_request(port, public, secret, b) for b in bodies]
        target = Target("tidings", port, reqs, proc.pid)
        real = asyncio.run(_load(target, args.connections, args.seconds, args.rate))
    finally:
        _stop(proc)
    earlier = None
    if before is not None:
        old_app, old_public, old_secret = before.creds
        old_bodies = [b.replace(app_id.encode(), old_app.encode()) for b in bodies]
        proc, port = _serve_tidings(before.url, _with_source(env, before.src), None)
        try:
            reqs = [
                _request(port, old_public, old_secret, b, sign_request_id=False) for b in old_bodies
            ]
            target = Target("before", port, reqs, proc.pid)
            earlier = asyncio.run(_load(target, args.connections, args.seconds, args.rate))
        finally:
            _stop(proc)
    port = _free_port()
    db = str(workdir / "baseline.db")
    proc = _start(
        [sys.executable, str(HERE / "baseline.py"), "--db", db, "--port", str(port)], env, port
    )
    try:
        from baseline import SECRET

        reqs = [_request(port, "k", SECRET, b) for b in bodies]
        target = Target("baseline", port, reqs, proc.pid)
        base = asyncio.run(_load(target, args.connections, args.seconds, args.rate))
    finally:
        _stop(proc)
    return real, base, earlier


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--requests", type=int, default=16000, help="prepared per target")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="alternate the two targets this many times (a shared machine drifts: compare "
        "each round's pair, not runs minutes apart)",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=0,
        help="offer this many requests/s in all, paced evenly over the connections, instead "
        "of the closed loop; latency then counts from each request's due time",
    )
    parser.add_argument(
        "--profile",
        metavar="PATH",
        help="run tidings under cProfile (event-loop thread) and write its stats to PATH",
    )
    parser.add_argument(
        "--postgres",
        metavar="DSN",
        help="run tidings on this PostgreSQL database (in a fresh schema, dropped afterwards) "
        "instead of SQLite; the baseline stays on SQLite",
    )
    parser.add_argument(
        "--before",
        metavar="DIR",
        type=Path,
        help="also run tidings serve from this source tree (an earlier commit) in every round",
    )
    args = parser.parse_args()
    schema = f"tidings_bench_{uuid.uuid4().hex[:8]}"
    _pin(CLIENT_CPU)
    workdir = Path(tempfile.mkdtemp(prefix="tidings-bench-"))
    server_key = os.urandom(32)
    env = {**os.environ, "TIDINGS_SECRET_KEY": server_key.hex()}
    pairs: list[tuple[Result, Result, Result | None]] = []
    try:
        url = f"sqlite:///{workdir / 'tidings.db'}"
        before_url = f"sqlite:///{workdir / 'before.db'}"
        if args.postgres:
            url = f"{args.postgres}?schema={schema}"
            before_url = f"{args.postgres}?schema={schema}_before"
        creds = asyncio.run(_tidings_credentials(url, server_key))
        before = None
        if args.before is not None:
            src = args.before.resolve()
            before = Before(src, before_url, _credentials_from(src, before_url, env))
        for number in range(1, args.rounds + 1):
            pairs.append(
                _round(url, workdir, env=env, creds=creds, args=args, number=number, before=before)
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if args.postgres:
            _drop_schema(args.postgres, schema)
            if args.before is not None:
                _drop_schema(args.postgres, f"{schema}_before")

    print(
        f"\n{args.connections} connections"
        f"{f' paced at {args.rate:g} requests/s' if args.rate else ' (closed loop)'}, "
        f"{EVENTS_PER_REQUEST} events/request, "
        f"server on CPU {SERVER_CPU}, tidings on {'PostgreSQL' if args.postgres else 'SQLite'}"
    )
    print(
        f"{'round':<6} {'target':<10} {'req/s':>8} {'events/s':>10} {'p50 ms':>8} "
        f"{'p99 ms':>8} {'cpu ms/req':>10} {'errors':>7}"
    )
    ratios: dict[str, list[float]] = {"tidings": [], "before": []}
    cpu_ratios: dict[str, list[float]] = {"tidings": [], "before": []}
    for number, (real, base, earlier) in enumerate(pairs, 1):
        for r in (real, earlier, base):
            if r is None:
                continue
            print(
                f"{number:<6} {r.name:<10} {r.rps:>8.1f} {r.rps * EVENTS_PER_REQUEST:>10.0f} "
                f"{r.pct(0.50):>8.1f} {r.pct(0.99):>8.1f} {r.cpu_ms_per_request:>10.2f} "
                f"{r.errors:>7}"
            )
        for r in (real, earlier):
            if r is None:
                continue
            ratios[r.name].append(r.rps / base.rps)
            cpu_ratios[r.name].append(base.cpu_ms_per_request / max(1e-9, r.cpu_ms_per_request))
            print(
                f"{'':<6} {r.name}: throughput ratio to baseline {ratios[r.name][-1]:.2f}, "
                f"p99 ratio {r.pct(0.99) / base.pct(0.99):.2f}, CPU efficiency ratio "
                f"(baseline CPU/req over its CPU/req) {cpu_ratios[r.name][-1]:.2f}"
            )
    for name in ("tidings", "before"):
        if ratios[name]:
            print(
                f"\n{name}: median throughput ratio to baseline {_median(ratios[name]):.2f}, "
                f"median CPU efficiency ratio {_median(cpu_ratios[name]):.2f}"
            )


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


if __name__ == "__main__":
    main()
