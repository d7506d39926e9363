"""The counting consumer on a JetStream log, side by side with a consumer that only reads.

    .venv/bin/python bench/scale/counting.py [--uploads U] [--events E] [--rounds R]
        [--nats nats://127.0.0.1:4222]

One store: the log on a JetStream stream of its own (4 partitions, deleted afterwards) at the
NATS server given, the control plane a SQLite file. ``U`` uploads of ``E`` events each, one
device per upload, 20 custom event names and a user map of 5 custom properties per upload, as
the device protocol stores them (a shared payload prefix per upload). Then, each on its own
cursors from the log's start, with the runner's partition consumers, one after the other:

* **read only**: a handler that does nothing (what any consumer of the log costs);
* **counting**: the counting consumer (event catalog and counts, custom-property catalog within
  the limits, campaign stats; one transaction per batch).

Prints CPU microseconds per event (this process's CPU time, all threads, over the events): of
the ingest (the payloads are built in the same loop) while no name is counted yet, for each
round of the two consumers with the counting consumer's CPU over the read-only one's, and of
the same ingest again once every name is counted. Run it with
``PYTHONPATH=<another tree>/src`` to measure that tree the same way.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import nats
import orjson

from tidings.core.logpayload import event_prefix
from tidings.pipeline import Consumer, PipelineRunner
from tidings.pipeline.counting import COUNTING, Counting
from tidings.storage import EventIn, LogRecord, Store, open_store

T0 = 1_764_300_000_000


async def _fill(store: Store, app_id: str, uploads: int, events: int, first: int = 0) -> None:
    for u in range(first, first + uploads):
        device = f"dev-{u}"
        props = {"plan": "pro" if u % 2 else "free", "age": u % 90, "vip": u % 3 == 0}
        props |= {"city": f"c{u % 7}", "score": u * 1.5}
        prefix = event_prefix(app_id, {"deviceId": device}, f"user-{u}", None, props)
        items = []
        for i in range(events):
            body = {
                "id": f"{u}-{i}",
                "name": f"Event{i % 20}",
                "type": "custom",
                "timestamp": T0 + i,
                "sessionId": None,
                "properties": {"n": i},
            }
            payload = prefix + orjson.dumps(body) + b"}"
            items.append(
                EventIn(
                    body["id"], body["name"], "custom", T0 + i, payload, device, None, None, prefix
                )
            )
        await store.ingest(app_id, items, arrival_ms=T0)


async def _timed(store: Store, consumers: Sequence[Consumer] = (), providers: Any = ()) -> float:
    runner = PipelineRunner(store, consumers=list(consumers), providers=list(providers))
    start = time.process_time()
    await runner.run_until_idle(rounds=1_000_000)
    return time.process_time() - start


async def main(args: argparse.Namespace) -> None:
    tag = uuid.uuid4().hex[:10]
    stream = f"BENCH_{tag}"
    log = f"{args.nats}?stream={stream}&subjects=b{tag}&partitions=4"
    total = args.uploads * args.events
    try:
        with tempfile.TemporaryDirectory() as tmp:
            store = await open_store(f"sqlite:///{Path(tmp) / 'control.db'}", log=log)
            try:
                project = await store.create_project("bench")
                app = await store.create_app(project.id, "bench", "ios")
                start = time.process_time()
                await _fill(store, app.app_id, args.uploads, args.events)
                filled = time.process_time() - start
                print(f"{total} events in {args.uploads} uploads, 4 partitions")
                print(f"ingest (payloads built here too): {filled / total * 1e6:.1f} µs/event")
                print("round  read-only µs/event  counting µs/event  ratio")
                for r in range(args.rounds):

                    async def nothing(_rows: Sequence[LogRecord]) -> None:
                        return None

                    read = await _timed(store, [Consumer(f"read-{r}", nothing, batch_size=2000)])
                    counting = Counting(store)
                    # A fresh cursor per round: the consumer's name is fixed, so reset it.
                    for p in range(4):
                        await store.reset_cursor(f"{COUNTING}@p{p}", 0)
                    count = await _timed(store, providers=[counting.consumers])
                    print(
                        f"{r + 1:>5}  {read / total * 1e6:>18.1f}  {count / total * 1e6:>17.1f}"
                        f"  {count / read:>5.2f}x"
                    )
                start = time.process_time()
                await _fill(store, app.app_id, args.uploads, args.events, first=args.uploads)
                again = time.process_time() - start
                print(f"ingest again, every name counted: {again / total * 1e6:.1f} µs/event")
            finally:
                await store.close()
    finally:
        nc = await nats.connect(args.nats, connect_timeout=3)
        with contextlib.suppress(Exception):
            await nc.jetstream().delete_stream(stream)
        await nc.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--uploads", type=int, default=300)
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--nats", default="nats://127.0.0.1:4222")
    asyncio.run(main(parser.parse_args()))
