"""Server-side campaigns and attribution in real ``tidings worker`` processes sharing a
partitioned JetStream log (PostgreSQL control plane), one killed with SIGKILL mid-way and
another started: every device gets what the same input gives on SQLite, every call is delivered
(under its decision id), nothing is decided or counted twice."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from campaign_scenario import (
    PARTITIONS,
    first_phase,
    on_sqlite,
    outcome,
    second_phase,
    setup,
    sorted_counts,
    wait_settled,
)
from storage_support import SERVER_KEY, Backend, backend_named, own_stream, run
from webhook_receiver import WebhookReceiver

from tidings.storage import Store

pytestmark = [pytest.mark.nats, pytest.mark.slow, pytest.mark.reliability]

SRC = str(Path(__file__).resolve().parents[2] / "src")
WORKER = (
    "import sys; from tidings.cli import app; import tidings.cli.worker; "
    "app(sys.argv[1:], prog_name='tidings')"
)


@pytest.fixture
def js_pg(tmp_path: Path) -> Iterator[Backend]:
    """The log on a stream of its own, the control plane on a PostgreSQL schema of its own."""
    for pg in backend_named("postgresql", tmp_path, "tidings_pcw"):
        with own_stream(partitions=PARTITIONS) as log:
            yield Backend("jetstream", pg.url, schema=pg.schema, log=log)


def _start(backend: Backend) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": SRC, "TIDINGS_SECRET_KEY": SERVER_KEY.hex()}
    args = ["worker", "--db", backend.url, "--log", backend.log or "", "--lease-ms", "600"]
    args += ["--batch-wait-ms", "0", "--log-level", "warning"]
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def _until(predicate: Any, seconds: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not await predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.05)


def test_worker_processes_one_killed_give_every_device_what_sqlite_gives(
    js_pg: Backend, tmp_path: Path
) -> None:
    async def go(hook: WebhookReceiver) -> None:
        single = await on_sqlite(tmp_path, 2, [first_phase, second_phase])
        store: Store = await js_pg.open()
        s = await setup(store, 2, hook.url)
        workers = [_start(js_pg), _start(js_pg)]
        try:
            await first_phase(store, s)

            async def some_decided() -> bool:
                log = await store.read_log(0, 100_000)
                return sum(r.kind == "decision" for r in log) >= 10

            await _until(some_decided)
            workers[0].send_signal(signal.SIGKILL)
            workers[0].wait(timeout=30)
            workers.append(_start(js_pg))
            await wait_settled(store)
            await second_phase(store, s)
            await wait_settled(store)

            async def all_called() -> bool:
                return len(hook.accepted) >= len(single["calls"])

            await _until(all_called)
        finally:
            for worker in workers:
                if worker.poll() is None:
                    worker.send_signal(signal.SIGTERM)
            for worker in workers:
                try:
                    worker.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    worker.kill()
        try:
            spread = await outcome(store, s, hook.accepted)
        finally:
            await store.close()
        assert hook.state.forged == 0
        assert spread["decisions"] == single["decisions"]
        assert spread["calls"] == single["calls"]
        assert list(spread["stats"].values()) == list(single["stats"].values())
        for kind in ("server", "device"):
            got, want = spread["counts"][kind], single["counts"][kind]
            assert sorted_counts(got) == sorted_counts(want)

    with WebhookReceiver() as hook:
        run(go(hook))
