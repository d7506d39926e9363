"""Server campaigns: events/s through the evaluating consumer, side by side in one run.

    .venv/bin/python bench/server_campaigns/run.py [--events N] [--identities N] [--rss]

Each configuration runs in its own process (so its memory is its own) on a fresh SQLite file:
one app, one webhook destination, N active server campaigns, each triggered by its own event
name. The log is filled first (not timed): SDK-shaped events spread over the identities, of
which 99 % match no trigger and 1 % trigger one campaign. Then ``ServerCampaigns.handle`` runs
over the whole log, batch by batch, exactly as the pipeline drives it (states read from and
committed to SQLite with the cursor, decisions appended, calls queued in the outbox); only that
is timed. Printed: events/s with 10 and with 1,000 campaigns and the per-event cost ratio; the
same with 10 campaigns when one of them counts the noise events (``eventCount``), so every event
reads and writes its person's state; and with ``--rss`` the resident memory after such a run
over 10K and over 1M identities (the state cache holds at most ``--cache`` persons).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from tidings.pipeline.campaigns import ServerCampaigns
from tidings.pipeline.delivery import create_instance
from tidings.storage import EventIn, open_store

T0 = 1_767_607_200_000
KEY = bytes(range(32))
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def campaign(i: int, destination: str, watch: bool) -> dict[str, Any]:
    targeting: list[dict[str, Any]] = []
    if i % 3 == 0:
        targeting.append({"country": {"type": "include", "values": ["US", "PL"]}})
    if watch and i == 0:  # every "Noise" event then counts in its person's history
        noise = {"name": "Noise", "type": "custom", "params": []}
        targeting.append({"eventCount": {"event": noise, "compareType": "greater", "value": 0}})
    return {
        "name": f"Campaign {i}",
        "type": "Webhook",
        "priority": i % 3,
        "triggering": {
            "event": {"name": f"Trigger {i}", "type": "custom"},
            "limit": {"limit": 3, "limitType": "device"} if i % 2 else {},
        },
        "targeting": targeting,
        "content": {
            "destinationId": destination,
            "channelType": "EMAIL",
            "body": {"to": "{{traits.email}}", "plan": "{{event.properties.plan}}"},
        },
    }


def event(n: int, name: str, user: str) -> EventIn:
    payload = {
        "source": "sdk",
        "appId": "app",
        "device": {"deviceId": f"d-{user}", "platform": "iOS", "country": "US"},
        "userId": user,
        "session": {"id": "s-1", "counter": 1},
        "customProperties": {"email": f"{user}@example.org"},
        "event": {
            "id": f"e{n}",
            "name": name,
            "type": "custom",
            "timestamp": T0 + n,
            "sessionId": "s-1",
            "properties": {"plan": "pro", "n": n},
        },
    }
    return EventIn(f"e{n}", name, "custom", T0 + n, orjson.dumps(payload), f"d-{user}", user)


async def one(
    campaigns: int, identities: int, events: int, cache: int, watch: bool
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        store = await open_store(f"sqlite:///{tmp}/bench.db", server_key=KEY)
        try:
            project = await store.create_project("Bench")
            app_id = (await store.create_app(project.id, "App", "ios")).app_id
            body = {
                "kind": "webhook",
                "name": "Mailer",
                "settings": {"url": "http://127.0.0.1:9/", "secret": SECRET},
                "subscriptions": [],
            }
            destination = (await create_instance(store, app_id, body)).id
            for i in range(campaigns):
                await store.create_campaign(app_id, campaign(i, destination, watch), "Active")
            rng = random.Random(7)
            batch: list[EventIn] = []
            for n in range(events):
                user = f"u{rng.randrange(identities)}"
                trigger = rng.random() < 0.01
                name = f"Trigger {rng.randrange(campaigns)}" if trigger else "Noise"
                batch.append(event(n, name, user))
                if len(batch) == 5000:
                    await store.ingest(app_id, batch, arrival_ms=T0)
                    batch = []
            if batch:
                await store.ingest(app_id, batch, arrival_ms=T0)
            consumer = ServerCampaigns(cache_size=cache)
            loading = time.perf_counter()
            assert await consumer.prepare(store, app_id)
            load_s = time.perf_counter() - loading
            cursor, elapsed = 0, 0.0
            while records := await store.read_log(cursor, consumer.batch_size):
                started = time.perf_counter()
                await consumer.handle(store, records)
                elapsed += time.perf_counter() - started
                cursor = records[-1].seq
            return {
                "campaigns": campaigns,
                "watch": watch,
                "identities": identities,
                "events": events,
                "seconds": elapsed,
                "events_per_s": events / elapsed,
                "decisions": consumer.decided,
                "cached": consumer.cached,
                "stored_states": await store.identity_state_count(),
                "rss_mb": rss_mb(),
                "load_s": load_s,
            }
        finally:
            await store.close()


def spawn(*args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--one", *args], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--identities", type=int, default=100_000)
    parser.add_argument("--cache", type=int, default=100_000)
    parser.add_argument("--rss", action="store_true", help="also the 10K / 1M identity runs")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--campaigns", type=int, default=10, help=argparse.SUPPRESS)
    parser.add_argument("--watch", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        result = asyncio.run(
            one(args.campaigns, args.identities, args.events, args.cache, args.watch)
        )
        print(json.dumps(result))
        return
    common = ["--events", str(args.events), "--identities", str(args.identities)]
    common += ["--cache", str(args.cache)]
    rounds = []
    for _ in range(args.rounds):  # alternated, so both see the same machine
        rounds.append((spawn("--campaigns", "10", *common), spawn("--campaigns", "1000", *common)))
    watched = spawn("--campaigns", "10", "--watch", *common)
    header = ("campaigns", "noise", "identities", "events", "events/s", "decisions", "RSS MB")
    print("{:>9} {:>9} {:>10} {:>9} {:>9} {:>9} {:>7}".format(*header))
    for r in [*(r for pair in rounds for r in pair), watched]:
        noise = "counted" if r["watch"] else "unread"
        row = (r["campaigns"], noise, r["identities"], r["events"])
        row += (round(r["events_per_s"]), r["decisions"], round(r["rss_mb"]))
        print("{:>9} {:>9} {:>10} {:>9} {:>9} {:>9} {:>7}".format(*row))
    best_few = max(f["events_per_s"] for f, _ in rounds)
    best_many = max(m["events_per_s"] for _, m in rounds)
    print(
        f"per-event cost ratio (1,000 vs 10 campaigns, best of {args.rounds}): "
        f"{best_few / best_many:.2f}"
    )
    if args.rss:
        for identities, events in ((10_000, 200_000), (1_000_000, 1_000_000)):
            r = spawn(
                "--campaigns",
                "10",
                "--watch",
                "--events",
                str(events),
                "--identities",
                str(identities),
                "--cache",
                str(args.cache),
            )
            print(
                f"RSS after {events:,} events over {identities:,} identities, every event "
                f"counted (cache {args.cache:,}): {r['rss_mb']:.0f} MB, "
                f"{r['events_per_s']:.0f} events/s, {r['stored_states']:,} stored states"
            )


if __name__ == "__main__":
    main()
