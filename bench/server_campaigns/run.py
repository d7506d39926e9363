"""Server campaigns: events/s through the evaluating consumer, side by side in one run.

    .venv/bin/python bench/server_campaigns/run.py [--events N] [--identities N] [--rss]
    .venv/bin/python bench/server_campaigns/run.py --partitioned [--nats nats://127.0.0.1:4222]

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

``--partitioned``: the "every event counted" case side by side on a SQLite log and on a
JetStream log of 4 partitions (a stream of its own, deleted afterwards) beside SQLite, the
consumer driven per partition cursor as the runner drives it. Every person is a user, so on the
partitioned log no state is cached and every state is compared and set at commit: the figure is
what that costs. Printed: events/s and CPU per event (process CPU time / events) of each.
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

from tidings.core.partitions import partition_cursor
from tidings.pipeline.campaigns import CURSOR, ServerCampaigns
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


async def drive(store: Any, consumer: ServerCampaigns) -> tuple[float, float]:
    """Run the consumer over the whole log, per partition cursor on a partitioned log;
    ``(seconds, CPU seconds)`` spent in its handler."""
    elapsed, cpu = 0.0, 0.0
    cursors = [CURSOR]
    if store.partitions > 1:
        cursors = [partition_cursor(CURSOR, p) for p in range(store.partitions)]
    for cursor in cursors:
        while records := await store.read_after(cursor, consumer.batch_size):
            started, started_cpu = time.perf_counter(), time.process_time()
            await consumer.handle(store, records)
            elapsed += time.perf_counter() - started
            cpu += time.process_time() - started_cpu
    return elapsed, cpu


async def drop_stream(nats_url: str, stream: str) -> None:
    import nats

    nc = await nats.connect(nats_url)
    try:
        await nc.jetstream().delete_stream(stream)
    finally:
        await nc.close()


async def one(  # noqa: PLR0917 - one parameter per command-line option
    campaigns: int, identities: int, events: int, cache: int, watch: bool, log: str | None = None
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        store = await open_store(f"sqlite:///{tmp}/bench.db", server_key=KEY, log=log)
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
            elapsed, cpu = await drive(store, consumer)
            return {
                "campaigns": campaigns,
                "watch": watch,
                "identities": identities,
                "events": events,
                "seconds": elapsed,
                "events_per_s": events / elapsed,
                "cpu_us_per_event": cpu / events * 1e6,
                "partitions": store.partitions,
                "conflicts": consumer.conflicts,
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
    parser.add_argument("--log", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--partitioned", action="store_true", help="SQLite log vs JetStream")
    parser.add_argument("--nats", default="nats://127.0.0.1:4222")
    args = parser.parse_args()
    if args.one:
        result = asyncio.run(
            one(args.campaigns, args.identities, args.events, args.cache, args.watch, args.log)
        )
        print(json.dumps(result))
        return
    if args.partitioned:
        partitioned(args)
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


def partitioned(args: argparse.Namespace) -> None:
    """The every-event-counted case on a SQLite log and on 4 JetStream partitions, alternated."""
    common = ["--campaigns", "10", "--watch", "--events", str(args.events)]
    common += ["--identities", str(args.identities), "--cache", str(args.cache)]
    rows = []
    for n in range(args.rounds):
        rows.append(spawn(*common))
        stream = f"BENCH_SC_{n}_{int(time.time())}"
        log = f"{args.nats}?stream={stream}&subjects=bench{n}{int(time.time())}&partitions=4"
        try:
            rows.append(spawn(*common, "--log", log))
        finally:
            asyncio.run(drop_stream(args.nats, stream))
    header = ("log", "events", "identities", "events/s", "CPU us/event", "decisions", "conflicts")
    print("{:>10} {:>8} {:>10} {:>9} {:>12} {:>9} {:>9}".format(*header))
    for r in rows:
        kind = "sqlite" if r["partitions"] == 1 else f"js x{r['partitions']}"
        row = (kind, r["events"], r["identities"], round(r["events_per_s"]))
        row += (round(r["cpu_us_per_event"]), r["decisions"], r["conflicts"])
        print("{:>10} {:>8} {:>10} {:>9} {:>12} {:>9} {:>9}".format(*row))
    single = min(r["cpu_us_per_event"] for r in rows if r["partitions"] == 1)
    parts = min(r["cpu_us_per_event"] for r in rows if r["partitions"] > 1)
    print(
        f"CPU per event, 4 JetStream partitions vs SQLite log (best of each): {parts / single:.2f}"
    )


if __name__ == "__main__":
    main()
