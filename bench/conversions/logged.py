"""What logging first conversions costs the attribution commit, on a SQLite log and on JetStream.

    .venv/bin/python bench/conversions/logged.py [--conversions N] [--batch B] [--rounds R]
        [--nats nats://127.0.0.1:4222]

The attribution consumer hands each batch's exposures and conversions to
``record_attribution``. On a SQLite log the ``conversion`` records go into the log in that
transaction; on JetStream they are queued in it (rows of the cursor's ``$log:`` outbox queue)
and appended to the stream after the commit, then dropped from the queue. This times that call
alone, batch after batch of ``B`` exposures each converted once (every conversion a first one,
so every one is logged), on a fresh store per round: process CPU per first conversion (the
machine is shared, so CPU time, not wall time, is the measure) and wall time, side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
import uuid
from pathlib import Path

import nats
import orjson

from tidings.core.campaigns import Conversion, Exposure
from tidings.storage import Store, open_store
from tidings.storage.attribution import ConversionIn

T0 = 1_767_225_600_000


async def _run(store: Store, total: int, batch: int) -> tuple[float, float, int]:
    project = await store.create_project("bench")
    app_id = (await store.create_app(project.id, "bench", "ios")).app_id
    cpu, wall = time.process_time(), time.perf_counter()
    for start in range(0, total, batch):
        exposures: list[Exposure] = []
        conversions: list[ConversionIn] = []
        for i in range(start, min(total, start + batch)):
            device = f"dev-{i}"
            exposure = Exposure(app_id, "c-bench", f"d{i}", f"d:{device}", "A", T0)
            payload = {"appId": app_id, "conversion": {"id": f"d{i}/0", "campaignId": "c-bench"}}
            conversion = Conversion(exposure, 0, f"e{i}", "Purchase", T0 + 5)
            exposures.append(exposure)
            conversions.append(ConversionIn(conversion, orjson.dumps(payload), device))
        await store.record_attribution(
            exposures, conversions, cursor="campaign-conversions", seq=start + batch
        )
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    logged = [r for r in await store.read_log(0, total + 10) if r.kind == "conversion"]
    return cpu, wall, len(logged)


async def _once(url: str, log: str | None, total: int, batch: int) -> tuple[float, float, int]:
    store = await open_store(url, log=log) if log else await open_store(url)
    try:
        return await _run(store, total, batch)
    finally:
        await store.close()


async def _drop(servers: str, stream: str) -> None:
    nc = await nats.connect(servers, connect_timeout=3)
    with contextlib.suppress(Exception):
        await nc.jetstream().delete_stream(stream)
    await nc.close()


def main(args: argparse.Namespace) -> None:
    total, batch = args.conversions, args.batch
    print(f"{total} first conversions in batches of {batch}; JetStream with 4 partitions")
    print("round  SQLite µs/conv (wall s)  JetStream µs/conv (wall s)  CPU ratio")
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            single = asyncio.run(_once(f"sqlite:///{Path(tmp) / f'log{r}.db'}", None, total, batch))
            tag = uuid.uuid4().hex[:10]
            stream = f"BENCH_{tag}"
            log = f"{args.nats}?stream={stream}&subjects=b{tag}&partitions=4"
            try:
                spread = asyncio.run(
                    _once(f"sqlite:///{Path(tmp) / f'control{r}.db'}", log, total, batch)
                )
            finally:
                asyncio.run(_drop(args.nats, stream))
            assert single[2] == spread[2] == total, (single[2], spread[2])
            print(
                f"{r + 1:>5}  {single[0] / total * 1e6:>14.1f} ({single[1]:.2f})"
                f"  {spread[0] / total * 1e6:>17.1f} ({spread[1]:.2f})"
                f"  {spread[0] / single[0]:>8.2f}x"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversions", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=250)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--nats", default="nats://127.0.0.1:4222")
    main(parser.parse_args())
