"""Scale-out, side by side in one run, reported as CPU per event (process CPU time / events):

* **ingest**: one vs two ``tidings serve`` processes on a JetStream log, and one on SQLite
  (events stored);
* **delivery**: one Amplitude destination driven by one vs two ``tidings worker`` processes on
  one JetStream log (events delivered to a local Amplitude stand-in; ``bench/scale/workers.py``).

On a 2-core machine shared with the load generator and the NATS server, throughput mostly says
who else was busy; CPU per event says what one event costs a server process. The goals: CPU per
event stays within 15% when a second server joins (nothing serialises writers across
processes), CPU per event on JetStream is within 1.5x of SQLite's, and a destination's CPU per
event stays within 15% when a second worker joins.

Every request is a signed ``POST /api/v1/session`` with 100 fresh events; the two-server case
splits the connections between the servers (a load balancer's job). The control plane of the
JetStream cases is a PostgreSQL schema of its own (``--postgres``); the log is a stream of its
own on ``--nats``, deleted afterwards.

    .venv/bin/python bench/scale/run.py [--only ingest|delivery] [--rounds 2]
        [--seconds 8] [--connections 32]                       (ingest)
        [--events 120000] [--devices 12000] [--per-upload 10] [--lease-ms 15000]  (delivery)
        [--nats nats://127.0.0.1:4222] [--postgres postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "src"))
sys.path.insert(0, str(HERE.parent / "ingest"))

import nats  # noqa: E402
import run as ingest  # noqa: E402  (bench/ingest/run.py: load generator, signing, CPU time)
import workers  # noqa: E402  (bench/scale/workers.py: the delivery cases)

from tidings.storage import open_store  # noqa: E402

KEY = bytes(range(32))
CODE = "import tidings.cli.serve; from tidings.cli import main; main()"


async def _credentials(url: str, log: str | None) -> tuple[str, str, str]:
    store = await open_store(url, server_key=KEY, log=log)
    try:
        project = await store.create_project("bench")
        creds = await store.create_app(project.id, "bench", "ios")
        return creds.app_id, creds.api_key_public, creds.api_key_secret
    finally:
        await store.close()


def _serve(url: str, log: str | None, env: dict[str, str]) -> tuple[object, int]:
    port = ingest._free_port()
    args = [sys.executable, "-c", CODE, "serve", "--db", url, "--port", str(port)]
    args += ["--no-access-log", "--no-pipeline"]
    if log:
        args += ["--log", log]
    return ingest._start(args, env, port), port


async def _case(
    name: str, url: str, log: str | None, servers: int, args: argparse.Namespace
) -> tuple[float, float]:
    """Events/s and server CPU ms per 1,000 events of one case."""
    env = {**os.environ, "TIDINGS_SECRET_KEY": KEY.hex()}
    app_id, public, secret = await _credentials(url, log)
    procs = [_serve(url, log, env) for _ in range(servers)]
    try:
        per = args.connections // servers
        count = int(args.seconds * 1200 / servers) + per * 10
        targets = []
        for i, (proc, port) in enumerate(procs):
            bodies = [ingest._body(app_id, ingest.EVENTS_PER_REQUEST) for _ in range(count)]
            requests = [ingest._request(port, public, secret, b) for b in bodies]
            targets.append(ingest.Target(f"{name}#{i}", port, requests, proc.pid))  # type: ignore[attr-defined]
        results = await asyncio.gather(*(ingest._load(t, per, args.seconds) for t in targets))
    finally:
        for proc, _ in procs:
            ingest._stop(proc)  # type: ignore[arg-type]
    errors = sum(r.errors for r in results)
    events = (sum(r.requests for r in results) - errors) * ingest.EVENTS_PER_REQUEST
    cpu = sum(r.cpu_seconds for r in results)
    seconds = max(r.seconds for r in results)
    if errors:
        print(f"  note: {name}: {errors} failed requests", flush=True)
    return events / seconds, cpu * 1e6 / max(1, events)


async def _drop_stream(servers: str, stream: str) -> None:
    nc = await nats.connect(servers)
    try:
        await nc.jetstream().delete_stream(stream)
    finally:
        await nc.close()


def _ingest_rounds(args: argparse.Namespace, cleanup: list[tuple[str, str]], tmp: str) -> None:
    rows: dict[str, list[tuple[float, float]]] = {}
    for r in range(args.rounds):
        tag = uuid.uuid4().hex[:8]
        sqlite = f"sqlite:///{Path(tmp) / f'bench-{r}.db'}"
        cases: list[tuple[str, str, str | None, int]] = [("1 serve, SQLite log", sqlite, None, 1)]
        for servers in (1, 2):
            schema, stream = f"bench_scale_{tag}_{servers}", f"BENCH_{tag}_{servers}"
            cleanup.append((schema, stream))
            url = f"{args.postgres}?schema={schema}"
            log = f"{args.nats}?stream={stream}&subjects=bench{tag}{servers}"
            cases.append((f"{servers} serve, JetStream log", url, log, servers))
        for name, url, log, servers in cases:
            got = asyncio.run(_case(name, url, log, servers, args))
            rows.setdefault(name, []).append(got)
            print(f"  round {r + 1}: {name}: {got[0]:,.0f} events/s,"
                  f" {got[1]:.1f} µs CPU/event", flush=True)  # fmt: skip
    med = {name: (ingest._median([v[0] for v in vals]), ingest._median([v[1] for v in vals]))
           for name, vals in rows.items()}  # fmt: skip
    sqlite_cpu = med["1 serve, SQLite log"][1]
    one_cpu = med["1 serve, JetStream log"][1]
    print("\n| case | events/s | server CPU µs/event | vs SQLite | vs 1 serve |")
    print("|---|---|---|---|---|")
    for name, (eps, cpu) in med.items():
        print(f"| {name} | {eps:,.0f} | {cpu:.1f} | {cpu / sqlite_cpu:.2f}x | "
              f"{cpu / one_cpu:.2f}x |")  # fmt: skip


def _delivery_rounds(args: argparse.Namespace, cleanup: list[tuple[str, str]]) -> None:
    shape = workers.amplitude.Shape(args.events, args.devices, args.per_upload)
    proc, standin = workers.amplitude.start_standin()
    rows: dict[tuple[int, int], workers.Outcome] = {}
    try:
        for r in range(args.rounds):
            tag = uuid.uuid4().hex[:8]
            for count in (1, 2) if r % 2 == 0 else (2, 1):  # each order in turn
                schema, stream = f"bench_deliver_{tag}_{count}", f"BENCH_D_{tag}_{count}"
                cleanup.append((schema, stream))
                url = f"{args.postgres}?schema={schema}"
                log = f"{args.nats}?stream={stream}&subjects=benchd{tag}{count}"
                got = workers.run_case(url, log, KEY, standin, shape, count, args.lease_ms)
                rows[r, count] = got
                print(f"  round {r + 1}: {count} worker(s): {got.events_per_s:,.0f} events/s,"
                      f" {got.cpu_us:.1f} µs CPU/event, partitions held {got.held},"
                      f" CPU s each {[round(c, 2) for c in got.cpu_each]}",
                      flush=True)  # fmt: skip
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(10)
    print(f"\n{args.events:,} events over {args.devices:,} devices, one Amplitude destination")
    print("| round | 1 worker events/s | 2 workers events/s | 1 worker CPU µs/event |"
          " 2 workers CPU µs/event | 2 vs 1 CPU/event |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    for r in range(args.rounds):
        one, two = rows[r, 1], rows[r, 2]
        print(f"| {r + 1} | {one.events_per_s:,.0f} | {two.events_per_s:,.0f} | {one.cpu_us:.1f}"
              f" | {two.cpu_us:.1f} | {two.cpu_us / one.cpu_us:.2f}x |")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=["ingest", "delivery"], help="run one part only")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=8.0, help="ingest: per case")
    parser.add_argument("--connections", type=int, default=32, help="ingest: load connections")
    parser.add_argument("--events", type=int, default=120_000, help="delivery: events in the log")
    parser.add_argument("--devices", type=int, default=12_000, help="delivery: over this many")
    parser.add_argument("--per-upload", type=int, default=10, help="delivery: events per upload")
    parser.add_argument("--lease-ms", type=int, default=15_000, help="delivery: worker --lease-ms")
    parser.add_argument("--nats", default="nats://127.0.0.1:4222")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    ingest._pin(ingest.CLIENT_CPU)
    cleanup: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            if args.only in (None, "ingest"):
                print("ingest: one vs two serve (JetStream), one serve (SQLite)", flush=True)
                _ingest_rounds(args, cleanup, tmp)
            if args.only in (None, "delivery"):
                print("\ndelivery: one vs two workers (JetStream)", flush=True)
                _delivery_rounds(args, cleanup)
        finally:
            for schema, stream in cleanup:
                ingest._drop_schema(args.postgres, schema)
                asyncio.run(_drop_stream(args.nats, stream))


if __name__ == "__main__":
    main()
