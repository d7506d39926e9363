"""Caller-side latency of ``track()``: Tidings next to ``segment-analytics-python``, in one run.

    .venv/bin/python bench/sdk/run.py [--events N] [--runs R] [--server process|thread] [--full]

Both clients talk to the same real Tidings server (SQLite in a temp dir; Segment's client through
the Segment-compatible ``/v1/batch``). By default the server is a separate process, as it is for a
real app; ``--server thread`` runs it in the benchmark's own process (the set-up of the first
measurements: the server's request handling then competes for the GIL with both clients).

Both clients are alive for the whole run and their calls are timed in alternating chunks of
``CHUNK`` calls, so a noisy neighbour on the machine hits both alike. Each call is timed on the
caller's thread with ``perf_counter_ns``. The two do different work per call: Segment appends to
an in-memory queue (lost if the process dies), Tidings validates, runs the campaign engine and
writes the event to its on-device journal before returning (kept across a crash; the worker moves
it into SQLite). With ``synchronous=full`` there is no journal: each call commits with an fsync.
Both upload batches of 100 calls (Tidings stores two rows per call: the event and its
``EventTriggered`` mirror).
``--full`` adds a ``synchronous=full`` client (an fsync per call; a tenth of the calls).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import multiprocessing
import os
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvicorn
from segment.analytics import Client as SegmentClient

from tidings.sdk import Tidings
from tidings.server.app import create_app_for_url
from tidings.storage import open_store

CHUNK = 500
PROPS = {"plan": "annual", "price": 9.99, "seats": 3, "trial": False}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(db_url: str, key: bytes, port: int) -> None:
    """The server process: an app's events go to another machine, never to its own GIL."""
    uvicorn.run(
        create_app_for_url(db_url, server_key=key), host="127.0.0.1", port=port, log_level="error"
    )


def start_server(
    directory: Path, placement: str = "process"
) -> tuple[str, dict[str, str], Callable[[], None]]:
    db_url = f"sqlite:///{directory / 'server.sqlite3'}"
    key = os.urandom(32)

    async def bootstrap() -> dict[str, str]:
        store = await open_store(db_url, server_key=key)
        try:
            project = await store.create_project("bench")
            return (await store.create_app(project.id, "bench", "python")).to_json()
        finally:
            await store.close()

    app = asyncio.run(bootstrap())
    port = free_port()
    if placement == "thread":
        return f"http://127.0.0.1:{port}", app, start_thread(db_url, key, port)
    proc = multiprocessing.get_context("spawn").Process(
        target=serve, args=(db_url, key, port), daemon=True
    )
    proc.start()
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or not proc.is_alive():
                raise RuntimeError("the bench server did not start") from None
            time.sleep(0.05)

    def stop() -> None:
        proc.terminate()
        proc.join(10)

    return f"http://127.0.0.1:{port}", app, stop


def start_thread(db_url: str, key: bytes, port: int) -> Callable[[], None]:
    server = uvicorn.Server(
        uvicorn.Config(
            create_app_for_url(db_url, server_key=key),
            host="127.0.0.1",
            port=port,
            log_level="error",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)

    def stop() -> None:
        server.should_exit = True
        thread.join(10)

    return stop


def timed(call: Callable[[], Any], n: int, out: list[int]) -> None:
    perf = time.perf_counter_ns
    for _ in range(n):
        t0 = perf()
        call()
        out.append(perf() - t0)


def summary(samples: list[int]) -> tuple[float, float, float]:
    ordered = sorted(samples)
    p50 = ordered[len(ordered) // 2] / 1000
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] / 1000
    return p50, p99, statistics.fmean(samples) / 1000


def tidings_client(url: str, app: dict[str, str], data_dir: Path, sync: str, n: int) -> Tidings:
    return Tidings(
        app_id=app["appId"],
        api_key_public=app["apiKeyPublic"],
        api_key_secret=app["apiKeySecret"],
        backend_url=url,
        data_dir=data_dir,
        log_level="error",
        synchronous=sync,  # type: ignore[arg-type]
        max_queue_events=n * 4,
        upload_batch_size=200,
    )


def one_run(n: int, placement: str, full: bool) -> dict[str, list[int]]:
    """Time ``n`` calls of each client, alternating chunks; the samples by client."""
    samples: dict[str, list[int]] = {"segment": [], "tidings": []}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        url, app, stop = start_server(root, placement)
        try:
            segment = SegmentClient(
                app["writeKey"], host=url, max_queue_size=n * 2, upload_size=100
            )
            client = tidings_client(url, app, root / "device", "normal", n)
            calls: dict[str, Callable[[], Any]] = {
                "segment": lambda: segment.track(user_id="u-1", event="Purchase", properties=PROPS),
                "tidings": lambda: client.track("Purchase", PROPS),
            }
            warm: list[int] = []
            for call in calls.values():
                timed(call, CHUNK, warm)
            gc.collect()
            order = list(calls)
            for done in range(0, n, CHUNK):
                for name in order:
                    timed(calls[name], min(CHUNK, n - done), samples[name])
                order.reverse()
            segment.flush()
            segment.shutdown()
            client.close(timeout=30)
            if full:
                fsync = tidings_client(url, app, root / "device-full", "full", n)
                samples["tidings (full)"] = []
                timed(
                    lambda: fsync.track("Purchase", PROPS),
                    max(1, n // 10),
                    samples["tidings (full)"],
                )
                fsync.close(timeout=30)
        finally:
            stop()
    return samples


LABELS = {
    "segment": "segment-analytics-python",
    "tidings": "tidings (journal)",
    "tidings (full)": "tidings (SQLite, full)",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--server", choices=("process", "thread"), default="process")
    parser.add_argument("--full", action="store_true")
    args = parser.parse_args()
    n = args.events
    print(
        f"track() caller-side latency, {n} calls per client per run, one thread, "
        f"server in a {args.server} (microseconds)"
    )
    print(
        f"{'run':<5}{'client':<26}{'p50':>9}{'p99':>9}{'mean':>9}{'p50 ratio':>11}{'p99 ratio':>11}"
    )
    for run in range(1, args.runs + 1):
        samples = one_run(n, args.server, args.full)
        seg_p50, seg_p99, _ = summary(samples["segment"])
        for key, values in samples.items():
            p50, p99, mean = summary(values)
            ratio = "" if key == "segment" else f"{p50 / seg_p50:>10.2f}x{p99 / seg_p99:>10.2f}x"
            print(f"{run:<5}{LABELS[key]:<26}{p50:>9.1f}{p99:>9.1f}{mean:>9.1f}{ratio}")


if __name__ == "__main__":
    main()
