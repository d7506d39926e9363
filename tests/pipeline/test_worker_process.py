"""``tidings worker`` as a real process: killed mid-delivery, started again, nothing lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from amplitude_standin import Fault, Standin
from pipeline_support import amplitude_instance, log_events, make_app
from storage_support import SERVER_KEY, Backend, run

pytestmark = [pytest.mark.slow, pytest.mark.reliability]

SRC = str(Path(__file__).resolve().parents[2] / "src")
WORKER = (
    "import sys; from tidings.cli import app; import tidings.cli.worker; "
    "app(sys.argv[1:], prog_name='tidings')"
)


def _start(url: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": SRC, "TIDINGS_SECRET_KEY": SERVER_KEY.hex()}
    args = ["worker", "--db", url, "--lease-ms", "400", "--batch-size", "20"]
    args += ["--batch-wait-ms", "0", "--log-level", "warning"]
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _wait(predicate: object, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.02)
    raise AssertionError("condition not reached")


def test_a_killed_worker_loses_nothing(sql_backend: Backend, amp: Standin) -> None:
    async def setup() -> str:
        store = await sql_backend.open()
        app_id = await make_app(store)
        await amplitude_instance(store, app_id, amp.url)
        await store.close()
        return app_id

    async def log(app_id: str) -> list[str]:
        # After the instance exists: a new instance starts at the end of the log.
        store = await sql_backend.open()
        ids = await log_events(store, app_id, 200, devices=10)
        await store.close()
        return ids

    ids = run(log(run(setup())))
    amp.fail_next(*[Fault(delay_s=0.15) for _ in range(6)])  # slow answers at first
    first = _start(sql_backend.url)
    try:
        _wait(lambda: len(amp.accepted) >= 20)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
    assert len(amp.accepted) < 200  # killed mid-way

    second = _start(sql_backend.url)
    try:
        _wait(lambda: len({e["insert_id"] for e in amp.accepted}) == 200)
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=30) == 0, second.stderr.read() if second.stderr else ""
    finally:
        if second.poll() is None:
            second.kill()
    assert sorted(e["insert_id"] for e in amp.accepted) == ids
