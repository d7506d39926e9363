"""Conversion attribution over the event log, side by side with a consumer that only reads.

    .venv/bin/python bench/conversions/run.py [--devices D] [--events-per-device K]
        [--backend sqlite|memory]

One store, one log: each device uploads a decision of a campaign (SUCCESS with treatment A or B,
or HOLDOUT, as the real buckets split it) and then ``K`` events, one in five of them the
campaign's conversion event. Three consumers read the same log from its start, each on its own
cursor, with the runner's defaults (500 records a batch), one after the other in this process:

* **read only**: a handler that does nothing; the cursor moves after each batch. This is what
  any consumer of the log costs.
* **attribution, no goals**: the attribution consumer while no campaign of the app declares a
  conversion event (what every server pays for having it).
* **attribution, goals**: the same with the campaign's conversion event declared: exposures
  stored, matching events looked up and attributed, first conversions logged, in one
  transaction per batch.

Prints records/s for each and its time relative to the read-only consumer (after one
untimed read of the whole log, so every case finds the database pages cached).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from tidings.core.campaigns import holdout_bucket, parse_campaign, pick_treatment
from tidings.pipeline import PipelineRunner
from tidings.pipeline.conversions import ConversionAttribution
from tidings.pipeline.runner import Consumer
from tidings.server.ingest import build_items
from tidings.server.upload import Upload
from tidings.storage import MemoryStore, Store, open_store

T0 = 1_764_300_000_000
CAMPAIGN: dict[str, Any] = {
    "id": "c-bench",
    "name": "Bench",
    "type": "DeepLink",
    "state": "Active",
    "triggering": {"event": {"name": "Open", "type": "custom", "params": []}},
    "content": {"url": "app://x"},
    "holdoutPercent": 20,
    "treatments": [
        {"id": "A", "sizePercent": 50, "content": {"url": "app://a"}},
        {"id": "B", "sizePercent": 50, "content": {"url": "app://b"}},
    ],
}
GOALS = [{"event": {"name": "Purchase", "type": "custom", "params": []}, "windowHours": 24}]


async def seed(store: Store, devices: int, per_device: int) -> tuple[str, int]:
    project = await store.create_project("bench")
    app_id = (await store.create_app(project.id, "bench", "ios")).app_id
    campaign = parse_campaign(CAMPAIGN)
    total = 0
    for d in range(devices):
        device_id = f"device-{d:06d}"
        held = holdout_bucket(campaign.id, device_id) < campaign.holdout_percent * 100
        treatment = pick_treatment(campaign.id, device_id, campaign.treatments)
        decision = {
            "id": f"dec-{d}",
            "campaignId": campaign.id,
            "status": "HOLDOUT" if held else "SUCCESS",
            "treatmentId": None if held or treatment is None else treatment.id,
            "source": "Open",
            "eventId": f"open-{d}",
            "timestamp": T0 + d,
        }
        events = [
            {
                "id": f"ev-{d}-{i}",
                "name": "Purchase" if i % 5 == 0 else "Level Up",
                "type": "custom",
                "timestamp": T0 + d + 1 + i,
                "sessionId": "s",
                "properties": {"level": i},
            }
            for i in range(per_device)
        ]
        upload = Upload(
            app_id=app_id,
            device={"deviceId": device_id, "platform": "ios", "osVersion": "17.1"},
            user_id=None,
            custom_properties=None,
            sessions={"s": {"id": "s", "counter": 1, "startedAt": T0}},
            dropped=0,
            events=events,
            decisions=[decision],
        )
        ev, dec = build_items(upload)
        # The decision first (its own upload), as a device that showed, then acted.
        await store.ingest(app_id, [], dec, arrival_ms=T0)
        await store.ingest(app_id, ev, arrival_ms=T0)
        total += len(ev) + len(dec)
    return app_id, total


async def timed(store: Store, consumer: Consumer) -> float:
    runner = PipelineRunner(store, consumers=[consumer])
    start = time.perf_counter()
    await runner.run_until_idle(rounds=1_000_000)
    return time.perf_counter() - start


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        if args.backend == "memory":
            store: Store = MemoryStore()
        else:
            store = await open_store(f"sqlite:///{Path(tmp) / 'bench.db'}", server_key=bytes(32))
        try:
            app_id, records = await seed(store, args.devices, args.events_per_device)
            plain = await store.create_campaign(app_id, CAMPAIGN, "Active")

            async def nothing(_rows: Any) -> None:
                return None

            await timed(store, Consumer("bench-warm-up", nothing))  # pages in the cache
            best: dict[str, float] = {}
            for n in range(args.rounds):
                cases = [
                    ("read only", Consumer(f"bench-read-{n}", nothing)),
                    (
                        "attribution, no goals",
                        Consumer(f"bench-plain-{n}", ConversionAttribution(store).handle),
                    ),
                ]
                for name, consumer in cases[n % 2 :] + cases[: n % 2]:
                    seconds = await timed(store, consumer)
                    best[name] = min(best.get(name, seconds), seconds)
            await store.replace_campaign(plain.id, {**CAMPAIGN, "conversions": GOALS})
            attributed = ConversionAttribution(store)
            best["attribution, goals"] = await timed(
                store, Consumer("bench-goals", attributed.handle)
            )
            counts = await store.conversion_counts(plain.id, "2025-11-28", "2025-11-28")
        finally:
            await store.close()
    exposed = sum(n for _, _, n in counts[0])
    converted = sum(f for *_, f, _ in counts[1])
    print(f"{args.backend}: {records:,} records ({args.devices:,} devices), {exposed:,} exposed,")
    print(
        f"{converted:,} converted; best of {args.rounds} rounds (attribution with goals: one run,"
    )
    print("it stores what it finds)")
    print(f"{'consumer':<28} {'records/s':>12} {'time vs read only':>18}")
    read_only = best["read only"]
    for name, seconds in best.items():
        print(f"{name:<28} {records / seconds:>12,.0f} {seconds / read_only:>17.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=5_000)
    parser.add_argument("--events-per-device", type=int, default=10)
    parser.add_argument("--backend", choices=("sqlite", "memory"), default="sqlite")
    parser.add_argument("--rounds", type=int, default=5)
    asyncio.run(main(parser.parse_args()))
