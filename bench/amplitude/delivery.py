"""Durable Amplitude delivery, side by side with the official Python SDK, in one run.

    .venv/bin/python bench/amplitude/delivery.py [--events N] [--devices D] [--per-upload K]
        [--backend sqlite|pg]

Both send the same events to the same Amplitude stand-in (a real HTTP server in its own process,
enforcing Amplitude's request contract, with the per-device rate limit lifted so neither side is
throttled):

* **tidings**: the events are already in the event log, stored as the server stores devices'
  uploads of ``K`` events (default 10); timed from starting the pipeline until
  the stand-in has accepted every one, with a server's defaults: the log consumer maps each
  batch (the "Track Calls" preset) and sends it, and moves its cursor (a committed
  transaction, ``synchronous=FULL`` on SQLite) only after Amplitude answered and whatever it
  did not accept is committed to the outbox: durable at every step (docs/amplitude.md).
  For comparison, the same with every event inserted into the outbox, sent by the sender and
  deleted in a committed transaction, and the outbox sender alone over already mapped rows.
* **amplitude-analytics** (``Amplitude(...).track`` for each event, then ``shutdown``), in memory:
  timed from the first ``track`` until its callbacks reported every event delivered. Once with
  its defaults (200 events per request) and once with 1000 per request, like tidings.

Prints events/s for each and the ratio of tidings to the better SDK run. The process tunes its
garbage collector as ``tidings serve`` and ``tidings worker`` do, for both sides.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any, NamedTuple

import orjson

from tidings.pipeline import PipelineRunner

ROOT = Path(__file__).resolve().parents[2]
STANDIN = ROOT / "tests" / "destinations" / "amplitude_standin.py"
T0 = 1_764_300_000_000


def start_standin() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, str(STANDIN)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def stats(url: str) -> dict[str, int]:
    with urllib.request.urlopen(f"{url}/stats") as response:
        data: dict[str, int] = orjson.loads(response.read())
        return data


def wait_accepted(url: str, target: int) -> None:
    """Block until the stand-in has accepted ``target`` events: one request it answers then
    (polling would put the waiting's own CPU into the timed run)."""
    with urllib.request.urlopen(f"{url}/wait?accepted={target}&timeout=600") as response:
        accepted = orjson.loads(response.read())["accepted"]
    if accepted < target:
        raise SystemExit(f"the stand-in accepted {accepted} of {target} events")


class Shape(NamedTuple):
    """How many events, over how many devices, each device uploading how many at a time."""

    events: int
    devices: int
    per_upload: int


def device_uploads(app_id: str, events: int, devices: int, per_upload: int) -> list[Any]:
    """The events as devices upload them: event ``i`` belongs to device ``i % devices``, and
    each device sends its events ``per_upload`` at a time (uploads in turn across devices)."""
    from tidings.server.upload import Upload

    prefix = uuid.uuid4().hex[:8]
    by_device: dict[int, list[dict[str, Any]]] = {}
    for i in range(events):
        by_device.setdefault(i % devices, []).append(
            {
                "id": f"{prefix}-{i:08d}",
                "name": "Level Up",
                "type": "custom",
                "timestamp": T0 + i,
                "sessionId": "s-1",
                "properties": {"level": 3, "mode": "ranked"},
            }
        )
    uploads = []
    for start in range(0, max(len(e) for e in by_device.values()), per_upload):
        for device, device_events in by_device.items():
            batch = device_events[start : start + per_upload]
            if batch:
                uploads.append(
                    Upload(
                        app_id=app_id,
                        device={
                            "deviceId": f"device-{device:06d}",
                            "platform": "ios",
                            "osVersion": "17.1",
                        },
                        user_id=None,
                        custom_properties=None,
                        sessions={"s-1": {"id": "s-1", "counter": 1, "startedAt": T0}},
                        dropped=0,
                        events=batch,
                    )
                )
    return uploads


async def run_tidings(url: str, db_url: str, shape: Shape) -> tuple[float, float, float]:
    """Events/s end to end (event log → Amplitude, as a server runs it), end to end with every
    event through the outbox, and from the committed outbox alone."""
    from tidings.destinations.kind import BatchPolicy
    from tidings.pipeline.delivery import Deliveries, DirectOptions, InstanceSender, SenderOptions
    from tidings.storage import open_store

    store = await open_store(db_url)
    batch = BatchPolicy(1000, max_wait_ms=0)
    via_outbox = DirectOptions(min_events=10**9)  # every batch into the outbox

    # End to end with the defaults: batches go straight out, only what must wait is queued.
    direct = await _end_to_end(store, url, shape, options=SenderOptions(batch=batch))
    # End to end, every event inserted into the outbox, then sent and deleted by the sender.
    outboxed = await _end_to_end(
        store, url, shape, options=SenderOptions(batch=batch, poll_seconds=0.01, direct=via_outbox)
    )

    # From the outbox: another app and instance; map into the outbox first (untimed).
    instance = await _instance(store, url, shape)
    queue_only = Deliveries(SenderOptions(direct=via_outbox))
    await PipelineRunner(store, providers=[queue_only.consumers]).run_until_idle()
    sender = InstanceSender(store, instance, SenderOptions(batch=batch))
    start = time.perf_counter()
    sent = await sender.drain()
    from_outbox = sent / (time.perf_counter() - start)
    sender.close()
    await store.close()
    return direct, outboxed, from_outbox


async def _instance(store: Any, url: str, shape: Shape) -> Any:
    """A new app with an Amplitude instance, and its events in the log."""
    from tidings.pipeline.delivery import create_instance

    project = await store.create_project("bench")
    app_id = (await store.create_app(project.id, "bench", "ios")).app_id
    instance = await create_instance(
        store, app_id, {"settings": {"apiKey": "test-key", "baseUrl": url}}
    )
    await _ingest(store, app_id, device_uploads(app_id, *shape))
    return instance


async def _end_to_end(store: Any, url: str, shape: Shape, *, options: Any) -> float:
    """Start the pipeline over a log holding the events; events/s until all were accepted."""
    from tidings.pipeline.delivery import Deliveries

    await _instance(store, url, shape)
    before = stats(url)["accepted"]
    deliveries = Deliveries(options)
    runner = PipelineRunner(
        store,
        providers=[deliveries.consumers],
        services={"destinations": deliveries.service},
        idle_seconds=0.01,
    )
    start = time.perf_counter()
    await runner.start()
    await asyncio.to_thread(wait_accepted, url, before + shape.events)
    rate = shape.events / (time.perf_counter() - start)
    await runner.stop()
    return rate


async def _ingest(store: Any, app_id: str, uploads: list[Any]) -> None:
    """Store the uploads as the server does: the same payloads, one append per upload."""
    from tidings.server.ingest import build_items

    for upload in uploads:
        events, _ = build_items(upload)
        await store.ingest(app_id, events, arrival_ms=T0)


def run_sdk(url: str, events: int, devices: int, batch: int) -> float:
    from amplitude import Amplitude, BaseEvent, Config

    delivered = 0
    done = threading.Event()
    lock = threading.Lock()

    def callback(_event: object, code: int, _message: str | None = None) -> None:
        nonlocal delivered
        if code == 200:
            with lock:
                delivered += 1
                if delivered == events:
                    done.set()

    config = Config(
        flush_queue_size=batch, server_url=f"{url}/2/httpapi", callback=callback, min_id_length=1
    )
    prefix = uuid.uuid4().hex[:8]
    batch_events = [
        BaseEvent(
            event_type="Level Up",
            device_id=f"device-{i % devices:06d}",
            time=T0 + i,
            insert_id=f"sdk-{prefix}-{i:08d}",
            event_properties={"level": 3, "mode": "ranked"},
            platform="iOS",
            os_name="iOS",
            os_version="17.1",
            session_id=T0,
        )
        for i in range(events)
    ]
    start = time.perf_counter()
    client = Amplitude("test-key", config)
    for e in batch_events:
        client.track(e)
    client.flush()
    done.wait(600)
    elapsed = time.perf_counter() - start
    client.shutdown()
    if delivered != events:
        raise SystemExit(f"SDK delivered {delivered} of {events}")
    return events / elapsed


def drop_schema(dsn: str, schema: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--devices", type=int, default=2_000)
    parser.add_argument("--per-upload", type=int, default=10, help="events per device upload")
    parser.add_argument("--backend", choices=["sqlite", "pg"], default="sqlite")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    # What ``tidings serve`` and ``tidings worker`` do at start-up (the process that delivers);
    # the SDK runs after it in this same process, under the same collector settings.
    from amplitude import Amplitude  # noqa: F401  (imported before freezing, like the server's)
    from tidings.cli.serve import tune_gc
    from tidings.pipeline import delivery as _pipeline  # noqa: F401

    tune_gc()
    proc, url = start_standin()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            schema = f"bench_{uuid.uuid4().hex[:8]}"
            if args.backend == "sqlite":
                db_url = f"sqlite:///{tmp}/bench.db"
            else:
                db_url = f"{args.pg}?schema={schema}"
            try:
                ours, outboxed, outbox = asyncio.run(
                    run_tidings(url, db_url, Shape(args.events, args.devices, args.per_upload))
                )
            finally:
                if args.backend == "pg":
                    drop_schema(args.pg, schema)
        sdk_default = run_sdk(url, args.events, args.devices, 200)
        sdk_1000 = run_sdk(url, args.events, args.devices, 1000)
        counts = stats(url)
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(10)
    best = max(sdk_default, sdk_1000)
    print(f"events: {args.events} over {args.devices} devices, backend {args.backend}")
    print(f"tidings, event log → Amplitude ({args.backend}):   {ours:>10,.0f} events/s")
    print(f"tidings, every event through the outbox:  {outboxed:>10,.0f} events/s")
    print(f"tidings, committed outbox → Amplitude:    {outbox:>10,.0f} events/s")
    print(f"amplitude-analytics 1.3.0 (200/request):  {sdk_default:>10,.0f} events/s")
    print(f"amplitude-analytics 1.3.0 (1000/request): {sdk_1000:>10,.0f} events/s")
    print(f"ratio end to end / best SDK run:   {ours / best:.2f}x")
    print(f"ratio all through the outbox / best SDK run:  {outboxed / best:.2f}x")
    print(f"ratio from outbox / best SDK run:  {outbox / best:.2f}x")
    print(f"stand-in: {counts['received']} received, {counts['accepted']} accepted")


if __name__ == "__main__":
    main()
