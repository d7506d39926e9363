"""``tidings status`` and ``/metrics``: partitions, owners and lag per consumer."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from storage_support import T0, Backend, backend_named, event, new_app, run

from tidings.core.partitions import partition_of
from tidings.pipeline import Consumer, PipelineRunner
from tidings.storage.logstatus import log_status

sys.path.insert(0, str(Path(__file__).parents[1] / "cli"))
from cli_support import clean_env, tidings

from loopback import start_serve

pytestmark = pytest.mark.nats
KEY = bytes(32)


@pytest.fixture
def js_backend(tmp_path: Path) -> Iterator[Backend]:
    yield from backend_named("jetstream", tmp_path, "unused")


def test_status_shows_partitions_owners_and_lag(js_backend: Backend, tmp_path: Path) -> None:
    async def go() -> None:
        async with await js_backend.open(server_key=KEY) as store:
            app = await new_app(store)
            for i in range(40):  # one upload per device, as devices send them
                await store.ingest(app.app_id, [event(f"e{i}", device_id=f"d{i}")], arrival_ms=T0)

            async def nothing(_rows: object) -> None:
                return None

            runner = PipelineRunner(
                store, consumers=[Consumer("sink", nothing)], holder="proc-a", lease_ms=5000
            )
            await runner.start()
            try:
                for _ in range(100):
                    status = await log_status(store)
                    if sum(c.lag for c in status.cursors) == 0 and len(status.cursors) == 4:
                        break
                    await asyncio.sleep(0.05)
                assert status.partitions == 4 and status.last_seq == await store.last_seq()
                assert status.members == ["proc-a"]
                assert {c.partition for c in status.cursors} == {0, 1, 2, 3}
                assert {c.owner for c in status.cursors} == {"proc-a"}
                assert sum(c.lag for c in status.cursors) == 0
            finally:
                await runner.stop()
            await store.reset_cursor("sink@p0", 0)
            # On JetStream lag counts messages: one per upload of one device here.
            behind = {c.partition: c.lag for c in (await log_status(store)).cursors}
            assert behind[0] > 0 and behind[1] == behind[2] == behind[3] == 0
            assert (
                sum(1 for i in range(40) if partition_of(app.app_id, f"d{i}", 4) == 0) == behind[0]
            )

    run(go())
    env = clean_env(TIDINGS_SECRET_KEY=KEY.hex())
    shown = tidings("status", "--db", js_backend.url, "--log", str(js_backend.log), env=env)
    assert shown.returncode == 0, shown.stderr
    assert "4 partition(s)" in shown.stdout
    assert "sink" in shown.stdout and "(none)" in shown.stdout
    serve = start_serve(
        js_backend.url, env, options=["--log", str(js_backend.log), "--no-pipeline"]
    )
    try:
        text = httpx.get(f"{serve.base}/metrics").text
    finally:
        serve.stop()
    assert 'tidings_consumer_lag{consumer="sink",partition="0"}' in text
