"""Scale-out ingest: one vs two ``tidings serve`` processes on a JetStream log, and one on
SQLite, side by side in one run, reported as CPU per event (process CPU time / events stored).

On a 2-core machine shared with the load generator and the NATS server, throughput mostly says
who else was busy; CPU per event says what one event costs a server process. The goals: CPU per
event stays within 15% when a second server joins (nothing serialises writers across
processes) and CPU per event on JetStream is within 1.5x of SQLite's.

Every request is a signed ``POST /api/v1/session`` with 100 fresh events; the two-server case
splits the connections between the servers (a load balancer's job). The control plane of the
JetStream cases is a PostgreSQL schema of its own (``--postgres``); the log is a stream of its
own on ``--nats``, deleted afterwards.

    .venv/bin/python bench/scale/run.py [--rounds 2] [--seconds 8] [--connections 32]
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--nats", default="nats://127.0.0.1:4222")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    ingest._pin(ingest.CLIENT_CPU)
    rows: dict[str, list[tuple[float, float]]] = {}
    cleanup: list[tuple[str | None, str | None]] = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            for r in range(args.rounds):
                tag = uuid.uuid4().hex[:8]
                sqlite = f"sqlite:///{Path(tmp) / f'bench-{r}.db'}"
                cases = [("1 serve, SQLite log", sqlite, None, 1)]
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
        finally:
            for schema, stream in cleanup:
                if schema:
                    ingest._drop_schema(args.postgres, schema)
                if stream:
                    asyncio.run(_drop_stream(args.nats, stream))
    med = {name: (ingest._median([v[0] for v in vals]), ingest._median([v[1] for v in vals]))
           for name, vals in rows.items()}  # fmt: skip
    sqlite_cpu = med["1 serve, SQLite log"][1]
    one_cpu = med["1 serve, JetStream log"][1]
    print("\n| case | events/s | server CPU µs/event | vs SQLite | vs 1 serve |")
    print("|---|---|---|---|---|")
    for name, (eps, cpu) in med.items():
        print(f"| {name} | {eps:,.0f} | {cpu:.1f} | {cpu / sqlite_cpu:.2f}x | "
              f"{cpu / one_cpu:.2f}x |")  # fmt: skip


if __name__ == "__main__":
    main()
