"""The JetStream event log's own rules: partitions, the stream's settings, clear errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from storage_support import NATS_URL, T0, Backend, event, new_app, own_stream, run

from tidings.core.errors import InvalidConfig
from tidings.core.partitions import partition_cursor, partition_key, partition_of
from tidings.storage import OpenError, open_store
from tidings.storage.jetstream import parse_log_url

pytestmark = pytest.mark.nats


@pytest.fixture
def js_backend(tmp_path: Path) -> Iterator[Backend]:
    with own_stream(partitions=4) as log:
        path = tmp_path / "control.db"
        yield Backend("jetstream", f"sqlite:///{path}", path=path, log=log)


def test_partition_cursors_split_the_log_by_device_in_order(js_backend: Backend) -> None:
    async def go() -> None:
        async with await js_backend.open() as store:
            app = await new_app(store)
            devices = [f"dev-{i}" for i in range(12)]
            for round_ in range(3):
                await store.ingest(
                    app.app_id,
                    [event(f"{d}-{round_}", device_id=d) for d in devices],
                    arrival_ms=T0,
                )
            seen: dict[str, list[str]] = {}
            total = 0
            for p in range(4):
                cursor = partition_cursor("sink", p)
                records = await store.read_after(cursor, 1000)
                total += len(records)
                for r in records:
                    key = partition_key(r.device_id, r.user_id)
                    assert partition_of(app.app_id, key, 4) == p
                    seen.setdefault(key, []).append(r.item_id)
                if records:
                    await store.commit_cursor(cursor, records[-1].seq)
                assert await store.read_after(cursor, 1000) == []
                assert await store.caught_up_to(cursor) == await store.last_seq()
            assert total == 36
            assert seen == {d: [f"{d}-{r}" for r in range(3)] for d in devices}
            # A partition cursor only wakes for appends past the stream's end.
            assert not await store.wait_for_append(await store.caught_up_to("sink@p0"), 0.05)

    run(go())


def test_a_stream_with_other_partitions_is_refused(tmp_path: Path) -> None:
    async def go(log: str) -> None:
        db = f"sqlite:///{tmp_path / 'c.db'}"
        store = await open_store(db, server_key=bytes(32), log=log)
        await store.close()
        other = log.replace("partitions=4", "partitions=8")
        with pytest.raises(OpenError, match=r"has 4 partitions.*configured with 8"):
            await open_store(db, server_key=bytes(32), log=other)

    with own_stream(partitions=4) as log:
        run(go(log))


def test_an_unreachable_log_is_one_clear_error(tmp_path: Path) -> None:
    async def go() -> None:
        with pytest.raises(OpenError, match=r"cannot reach the event log at nats://127\.0\.0\.1:1"):
            await open_store(
                f"sqlite:///{tmp_path / 'c.db'}", server_key=bytes(32), log="nats://127.0.0.1:1"
            )

    run(go())


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("http://x:4222", "log"),
        ("nats://", "log"),
        ("nats://h:4222?partitions=0", "log.partitions"),
        ("nats://h:4222?partitions=x", "log.partitions"),
        ("nats://h:4222?stream=a.b", "log.stream"),
        ("nats://h:4222?subjects=a.*", "log.subjects"),
        ("nats://h:4222?color=red", "log.color"),
    ],
)
def test_log_urls_are_checked_field_by_field(url: str, field: str) -> None:
    with pytest.raises(InvalidConfig) as caught:
        parse_log_url(url)
    assert caught.value.field == field


def test_a_log_url_names_every_server() -> None:
    log = parse_log_url(f"{NATS_URL.split('://')[0]}://h1:4222,h2:4222,h3:4222?partitions=32")
    assert log.servers == ("nats://h1:4222", "nats://h2:4222", "nats://h3:4222")
    assert (log.partitions, log.stream) == (32, "TIDINGS_LOG")
