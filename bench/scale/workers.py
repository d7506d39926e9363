"""Scale-out delivery: one Amplitude destination driven by one vs two ``tidings worker``
processes on the same JetStream log, reported as events/s and CPU per event (the workers' CPU
time from /proc divided by the events delivered). Run by ``bench/scale/run.py --only delivery``.

Each case gets a PostgreSQL schema and a stream of its own. The log is filled first, through the
store, with ``--events`` events over ``--devices`` devices (stored as the server stores devices'
uploads, ``--per-upload`` events each), for an Amplitude instance created *disabled* before the
fill (so its cursor starts before the events). Then the workers start and are left until they
announced themselves and the ``counting`` consumer caught up on every partition (its work is not
delivery's), and have delivered a warm-up (3,200 events of another app and instance: what a
process does once, such as lazy imports and the mapping's generated code, is not per event);
their CPU is read, the instance is enabled, and the case ends when the Amplitude
stand-in (``tests/destinations/amplitude_standin.py`` in its own process: a real HTTP server
enforcing Amplitude's contract, per-device throttle lifted) has accepted every event.

* **events/s**: events / (last accepted - first accepted): the workers notice an enabled
  instance at their next configuration refresh (every 5 s), which is not delivery's speed.
* **CPU µs/event**: the workers' CPU from enabling to the last event accepted, less their idle
  rate (measured just before enabling) over the wait for that refresh, divided by the events.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "src"))


def _load(name: str, path: Path) -> Any:
    """A sibling benchmark's module by path (several benchmarks have a ``run.py``)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# bench/amplitude/delivery.py: the stand-in in its own process, device uploads, /wait.
amplitude = _load("bench_amplitude_delivery", HERE.parent / "amplitude" / "delivery.py")

from tidings.pipeline.delivery import create_instance, update_instance  # noqa: E402
from tidings.server.ingest import build_items  # noqa: E402
from tidings.storage import open_store  # noqa: E402
from tidings.storage.logstatus import log_status  # noqa: E402

WORKER = "import sys; from tidings.cli import app; app(sys.argv[1:], prog_name='tidings')"
COUNTING = "counting"
WARM_UP = amplitude.Shape(3_200, 320, 10)


@dataclass(frozen=True, slots=True)
class Outcome:
    """One case: events/s, CPU µs per event, and how many partitions each worker held."""

    events_per_s: float
    cpu_us: float
    held: list[int]
    cpu_each: list[float]
    """Each worker's CPU seconds from enabling to the end (idle time included)."""


async def fill(
    url: str, log: str, key: bytes, standin: str, shape: Any, *, enabled: bool = False
) -> str:
    """A new app with an Amplitude instance, then its events in the log; the instance."""
    store = await open_store(url, server_key=key, log=log)
    try:
        project = await store.create_project("bench")
        app_id = (await store.create_app(project.id, "bench", "ios")).app_id
        body = {"enabled": enabled, "settings": {"apiKey": "test-key", "baseUrl": standin}}
        instance = await create_instance(store, app_id, body)
        uploads = amplitude.device_uploads(app_id, *shape)
        # Uploads of different devices are appended concurrently (a device's stay in order).
        group: list[Any] = []
        devices: set[str] = set()
        for upload in [*uploads, None]:
            device = None if upload is None else upload.device["deviceId"]
            if upload is None or device in devices or len(group) >= 64:
                await asyncio.gather(
                    *(store.ingest(app_id, build_items(u)[0], arrival_ms=amplitude.T0)
                      for u in group)
                )  # fmt: skip
                group, devices = [], set()
            if upload is not None:
                group.append(upload)
                devices.add(device)  # type: ignore[arg-type]
        return instance.id
    finally:
        await store.close()


async def _ready(url: str, log: str, key: bytes, workers: int) -> None:
    """Wait until every worker is a live member and ``counting`` is caught up everywhere."""
    store = await open_store(url, server_key=key, log=log)
    try:
        for _ in range(1200):
            status = await log_status(store)
            counting = [c for c in status.cursors if c.consumer == COUNTING]
            if (
                len(status.members) == workers
                and len(counting) == status.partitions
                and all(c.lag == 0 for c in counting)
            ):
                return
            await asyncio.sleep(0.25)
        raise SystemExit("the workers did not become ready")
    finally:
        await store.close()


async def _enable(url: str, log: str, key: bytes, instance_id: str) -> None:
    store = await open_store(url, server_key=key, log=log)
    try:
        await update_instance(store, instance_id, {"enabled": True})
    finally:
        await store.close()


async def _held(url: str, log: str, key: bytes, instance_id: str) -> list[int]:
    """Partitions of the instance's consumer each live worker holds now."""
    store = await open_store(url, server_key=key, log=log)
    try:
        status = await log_status(store)
        owners = [c.owner for c in status.cursors if c.consumer == f"destination:{instance_id}"]
        return sorted((owners.count(m) for m in status.members), reverse=True)
    finally:
        await store.close()


def _cpu(procs: list[Any]) -> float:
    """User + system CPU seconds of the processes (all threads), from /proc."""
    total = 0
    for proc in procs:
        fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run_case(  # noqa: PLR0917 - one case's whole configuration
    url: str, log: str, key: bytes, standin: str, shape: Any, workers: int,
    lease_ms: int,
) -> Outcome:  # fmt: skip
    """Fill the log, start ``workers`` workers, deliver everything once; the outcome."""
    instance_id = asyncio.run(fill(url, log, key, standin, shape))
    env = {**os.environ, "TIDINGS_SECRET_KEY": key.hex()}
    args = [sys.executable, "-c", WORKER, "worker", "--db", url, "--log", log]
    args += ["--lease-ms", str(lease_ms), "--log-level", "warning"]
    procs = [subprocess.Popen(args, env=env) for _ in range(workers)]
    try:
        asyncio.run(_ready(url, log, key, workers))
        # Every worker renews its membership (and learns the others') each lease_ms / 3.
        time.sleep(lease_ms / 3000 + 0.5)
        # A warm-up on another app, delivered by every worker: what a process does once (lazy
        # imports, the mapping's generated code, its HTTP connections) is not per event.
        before = amplitude.stats(standin)["accepted"]
        asyncio.run(fill(url, log, key, standin, WARM_UP, enabled=True))
        amplitude.wait_accepted(standin, before + WARM_UP.events)
        before += WARM_UP.events
        time.sleep(1.0)
        idle_from, idle_cpu = time.perf_counter(), _cpu(procs)
        time.sleep(1.0)
        each0 = [_cpu([p]) for p in procs]
        cpu0, t0 = sum(each0), time.perf_counter()
        idle_rate = (cpu0 - idle_cpu) / (t0 - idle_from)
        first: list[float] = []

        def first_accepted() -> None:
            amplitude.wait_accepted(standin, before + 1)
            first.append(time.perf_counter())

        watcher = threading.Thread(target=first_accepted, daemon=True)
        watcher.start()
        asyncio.run(_enable(url, log, key, instance_id))
        amplitude.wait_accepted(standin, before + shape.events)
        done, cpu1 = time.perf_counter(), _cpu(procs)
        each = [_cpu([p]) - c for p, c in zip(procs, each0, strict=True)]
        watcher.join()
        held = asyncio.run(_held(url, log, key, instance_id))
    finally:
        for proc in procs:
            _stop(proc)
    cpu = cpu1 - cpu0 - idle_rate * (first[0] - t0)
    return Outcome(shape.events / (done - first[0]), cpu * 1e6 / shape.events, held, each)
