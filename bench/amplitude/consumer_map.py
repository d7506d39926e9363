"""The log consumer's mapping CPU for Amplitude, per record.

    .venv/bin/python bench/amplitude/consumer_map.py [--events N] [--devices D]

``work_for_records`` (what the consumer runs on each log batch: records to outbox rows) over
``N`` SDK events logged as the server stores uploads, on an in-memory store; best of five in
CPU time, so a loaded machine inflates it less than the end-to-end bench. Run two checkouts
alternately (``PYTHONPATH=<checkout>/src``) to compare them.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "tests" / "pipeline"), str(ROOT / "tests" / "storage")]

from pipeline_support import T0, amplitude_instance, log_events, make_app  # noqa: E402

from tidings.pipeline.delivery import work_for_records  # noqa: E402
from tidings.pipeline.delivery.consumer import prepare  # noqa: E402
from tidings.storage import MemoryStore  # noqa: E402


async def main(events: int, devices: int) -> None:
    store = MemoryStore()
    app_id = await make_app(store)
    instance = await amplitude_instance(store, app_id, "http://127.0.0.1:9")
    await log_events(store, app_id, events, devices=devices)
    records = await store.read_log(0, events)
    destination = instance.build()
    await prepare(store, instance, destination)
    best = float("inf")
    for _ in range(5):
        start = time.process_time()
        rows, dead = work_for_records(instance, records, T0, destination)
        best = min(best, time.process_time() - start)
    assert len(rows) == len(records) and not dead
    print(f"{len(records)} records: {best / len(records) * 1e6:.1f} µs of CPU per record")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=5_000)
    parser.add_argument("--devices", type=int, default=500)
    args = parser.parse_args()
    asyncio.run(main(args.events, args.devices))
