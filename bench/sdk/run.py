"""Caller-side latency of ``track()``: Tidings next to ``segment-analytics-python``, in one run.

    .venv/bin/python bench/sdk/run.py [--events N]

Both clients talk to the same real Tidings server (uvicorn on 127.0.0.1, SQLite in a temp dir;
Segment's client through the Segment-compatible ``/v1/batch``). Each call is timed on the
caller's thread with ``perf_counter_ns``; the table shows p50, p99, mean and the ratio of
Tidings to Segment. The two do different work per call: Segment appends to an in-memory queue
(lost if the process dies), Tidings validates, runs the campaign engine and commits the event to
SQLite before returning (kept across a crash). ``synchronous=full`` adds an fsync per call.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(directory: Path) -> tuple[str, dict[str, str], Callable[[], None]]:
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

    return f"http://127.0.0.1:{port}", app, stop


def timed(call: Callable[[int], Any], n: int) -> list[int]:
    out = [0] * n
    gc.collect()
    for i in range(n):
        t0 = time.perf_counter_ns()
        call(i)
        out[i] = time.perf_counter_ns() - t0
    return out


def summary(samples: list[int]) -> tuple[float, float, float]:
    ordered = sorted(samples)
    p50 = ordered[len(ordered) // 2] / 1000
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] / 1000
    return p50, p99, statistics.fmean(samples) / 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    args = parser.parse_args()
    n = args.events
    props = {"plan": "annual", "price": 9.99, "seats": 3, "trial": False}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        url, app, stop = start_server(root)
        try:
            segment = SegmentClient(
                app["writeKey"], host=url, max_queue_size=n * 2, upload_size=100
            )
            seg = timed(
                lambda i: segment.track(user_id="u-1", event="Purchase", properties=props), n
            )
            segment.flush()
            segment.shutdown()
            rows: list[tuple[str, list[int]]] = []
            for label, sync in (
                ("tidings (WAL, normal)", "normal"),
                ("tidings (WAL, full)", "full"),
            ):
                count = n if sync == "normal" else max(1, n // 10)
                client = Tidings(
                    app_id=app["appId"],
                    api_key_public=app["apiKeyPublic"],
                    api_key_secret=app["apiKeySecret"],
                    backend_url=url,
                    data_dir=root / f"device-{sync}",
                    log_level="error",
                    synchronous=sync,  # type: ignore[arg-type]
                    max_queue_events=n * 4,
                )
                rows.append((label, timed(lambda i, c=client: c.track("Purchase", props), count)))
                client.close(timeout=30)
        finally:
            stop()
    seg_p50, seg_p99, seg_mean = summary(seg)
    print(f"track() caller-side latency, {n} calls, one thread (microseconds)")
    print(f"{'client':<26}{'p50':>9}{'p99':>9}{'mean':>9}{'p50 ratio':>11}{'p99 ratio':>11}")
    print(f"{'segment-analytics-python':<26}{seg_p50:>9.1f}{seg_p99:>9.1f}{seg_mean:>9.1f}")
    for label, samples in rows:
        p50, p99, mean = summary(samples)
        print(
            f"{label:<26}{p50:>9.1f}{p99:>9.1f}{mean:>9.1f}"
            f"{p50 / seg_p50:>10.1f}x{p99 / seg_p99:>10.1f}x"
        )


if __name__ == "__main__":
    main()
