"""Operations on a partitioned log: where a sink or destination is, how far behind, where it
starts, read from and written to every partition cursor ``<name>@p<n>`` (a real JetStream log,
a stream per test)."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from storage_support import T0, Backend, backend_named, event, new_app, run

from tidings.core.partitions import partition_cursor, partition_of
from tidings.pipeline import Consumer, PipelineRunner
from tidings.pipeline.delivery import create_instance
from tidings.pipeline.delivery import cursor_name as destination_cursor
from tidings.server.admin_streams import add_stream
from tidings.storage import LogRecord, Store
from tidings.storage.consumercursors import consumer_progress, move_consumer
from tidings.streams.sinkconfig import cursor_name as sink_cursor

sys.path.insert(0, str(Path(__file__).parents[1] / "cli"))
from cli_support import clean_env, tidings

from loopback import start_serve

pytestmark = pytest.mark.nats
KEY = bytes(32)
PARTS = 4  # the test streams' partition count (storage_support.own_stream)
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.fixture
def js_backend(tmp_path: Path) -> Iterator[Backend]:
    yield from backend_named("jetstream", tmp_path, "unused")


def _per_partition(app_id: str, devices: Sequence[str]) -> Counter[int]:
    return Counter(partition_of(app_id, d, PARTS) for d in devices)


async def _ingest(store: Store, app_id: str, prefix: str, count: int) -> list[str]:
    """One upload per device, as devices send them: on JetStream one message each, so lags
    (counted in messages) count devices here. Positions are the log's own (``last_seq``)."""
    devices = [f"{prefix}-dev{i}" for i in range(count)]
    for i, d in enumerate(devices):
        await store.ingest(app_id, [event(f"{prefix}{i}", device_id=d)], arrival_ms=T0)
    return devices


def test_a_sink_starts_behind_and_moves_on_every_partition(
    js_backend: Backend, tmp_path: Path
) -> None:
    """A sink made "now" starts every partition at the log's end, lags by what came after it
    (summed over partitions, exact per partition), and the runner delivers only that."""
    seen: list[str] = []

    async def record(rows: Sequence[LogRecord]) -> None:
        seen.extend(r.item_id for r in rows)

    async def go() -> tuple[str, str, int]:
        async with await js_backend.open(server_key=KEY) as store:
            app = await new_app(store)
            await _ingest(store, app.app_id, "old", 40)
            end_old = await store.last_seq()
            doc = await add_stream(
                store,
                {"kind": "jsonl", "appIds": [app.app_id], "settings": {"directory": str(tmp_path)}},
                "str_partitioned",
            )
            name = sink_cursor(doc.id)
            cursors = await store.list_cursors()
            assert {cursors[partition_cursor(name, p)] for p in range(PARTS)} == {end_old}
            devices = await _ingest(store, app.app_id, "new", 20)
            end = await store.last_seq()
            progress = await consumer_progress(store, name)
            expected = _per_partition(app.app_id, devices)
            assert progress.behind == 20
            assert {p.partition: p.lag for p in progress.partitions} == {
                p: expected[p] for p in range(PARTS)
            }
            if len(expected) == PARTS:
                assert progress.position == end_old
            else:
                assert progress.position >= end_old

            # The same name and start rule as the pipeline's sink consumer.
            runner = PipelineRunner(store, consumers=[Consumer(name, record, start_at_end=True)])
            await runner.run_until_idle()
            assert sorted(seen) == sorted(f"new{i}" for i in range(20))
            done = await consumer_progress(store, name)
            assert done.behind == 0 and done.position == end

            # Back to the beginning: every partition replays its own records.
            await move_consumer(store, name, 0)
            again = await consumer_progress(store, name)
            assert again.behind == 60 and again.position == 0
            await move_consumer(store, name, end)
            hook = {"url": "https://example.org/hook", "secret": SECRET}
            await create_instance(store, app.app_id, {"kind": "webhook", "settings": hook}, "dst_p")
            token = await store.create_admin_token("ops-test")
            return token, app.app_id, end

    token, app_id, end = run(go())
    env = clean_env(TIDINGS_SECRET_KEY=KEY.hex())
    serve = start_serve(
        js_backend.url, env, options=["--log", str(js_backend.log), "--no-pipeline"]
    )
    try:
        admin = {"Authorization": f"Bearer {token}"}
        url = f"{serve.base}/admin/api/streams/str_partitioned"
        shown = httpx.get(url, headers=admin).json()
        assert shown["behind"] == 0 and shown["position"] == end
        assert [p["partition"] for p in shown["partitions"]] == list(range(PARTS))

        async def more() -> list[str]:
            async with await js_backend.open(server_key=KEY) as store:
                return await _ingest(store, app_id, "later", 10)

        devices = run(more())
        shown = httpx.get(url, headers=admin).json()
        expected = _per_partition(app_id, devices)
        assert shown["behind"] == 10
        assert {p["partition"]: p["lag"] for p in shown["partitions"]} == {
            p: expected[p] for p in range(PARTS)
        }
        listed = httpx.get(f"{serve.base}/admin/api/streams", headers=admin).json()
        assert [s["position"] for s in listed["items"]] == [end]
        # A destination made at that end reads back the same way on the per-app tree.
        dest = httpx.get(
            f"{serve.base}/admin/api/apps/{app_id}/destinations/dst_p", headers=admin
        ).json()
        assert dest["behind"] == 10 and dest["position"] == end
        assert {p["partition"]: p["lag"] for p in dest["partitions"]} == {
            p: expected[p] for p in range(PARTS)
        }
    finally:
        serve.stop()


def _json(done: Any) -> Any:
    assert done.returncode == 0, done.stderr
    return orjson.loads(done.stdout)


def test_destination_commands_follow_the_partitioned_log(
    js_backend: Backend, tmp_path: Path
) -> None:
    """``tidings destinations add|show|replay --log``: a new destination starts every partition
    at the log's end, ``show`` sums the partitions' lag, ``replay`` reads the JetStream log."""

    async def setup() -> tuple[str, int]:
        async with await js_backend.open(server_key=KEY) as store:
            app = await new_app(store)
            await _ingest(store, app.app_id, "old", 30)
            return app.app_id, await store.last_seq()

    app_id, end_old = run(setup())
    env = clean_env(TIDINGS_SECRET_KEY=KEY.hex())
    db, log = js_backend.url, str(js_backend.log)
    settings = orjson.dumps({"url": "https://example.org/hook", "secret": SECRET}).decode()
    added = _json(
        tidings(
            *("destinations", "add", "--kind", "webhook", "--app", app_id),
            *("--settings", settings, "--db", db, "--log", log),
            env=env,
        )
    )
    name = destination_cursor(added["id"])

    async def later() -> tuple[dict[str, int], list[str], int]:
        async with await js_backend.open(server_key=KEY) as store:
            cursors = await store.list_cursors()
            devices = await _ingest(store, app_id, "new", 12)
            return cursors, devices, await store.last_seq()

    cursors, devices, end = run(later())
    assert {cursors[partition_cursor(name, p)] for p in range(PARTS)} == {end_old}
    # TIDINGS_LOG works as --log does.
    shown = _json(
        tidings(
            *("destinations", "show", "--id", added["id"], "--db", db),
            env={**env, "TIDINGS_LOG": log},
        )
    )
    expected = _per_partition(app_id, devices)
    assert shown["behind"] == 12
    assert {p["partition"]: p["lag"] for p in shown["partitions"]} == {
        p: expected[p] for p in range(PARTS)
    }
    replayed = tidings(
        *("destinations", "replay", "--id", added["id"]),
        *("--from", str(T0), "--to", str(T0 + 1), "--db", db, "--log", log),
        env=env,
    )
    assert replayed.returncode == 0, replayed.stderr
    assert "replayed 42 events" in replayed.stdout
    listed = _json(tidings("amplitude", "list", "--db", db, "--log", log, env=env))
    assert listed == []  # a webhook is not an Amplitude instance; the option is accepted
    assert "warning" not in replayed.stderr
    # A sink added from the command line starts every partition at the log's end too.
    sink = _json(
        tidings(
            *("streams", "add", "--kind", "jsonl", "--app", app_id, "--dir", str(tmp_path / "s")),
            *("--db", db, "--log", log),
            env=env,
        )
    )
    assert sink["position"] == end
    sinks = [
        orjson.loads(line)
        for line in tidings(
            "streams", "list", "--db", db, "--log", log, env=env
        ).stdout.splitlines()
    ]
    assert [s["position"] for s in sinks] == [end]

    async def sink_cursors() -> dict[str, int]:
        async with await js_backend.open(server_key=KEY) as store:
            return await store.list_cursors()

    cursors = run(sink_cursors())
    assert {cursors[partition_cursor(sink_cursor(sink["id"]), p)] for p in range(PARTS)} == {end}
    # Forgetting --log on such a database is said, not silently answered from an empty log.
    bare = tidings("destinations", "show", "--id", added["id"], "--db", db, env=env)
    assert bare.returncode == 0, bare.stderr
    assert "without --log or TIDINGS_LOG" in bare.stderr
