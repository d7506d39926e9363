"""One record can never block a consumer: a poison record through every consumer kind.

Two poison records sit in the log between good ones: an event whose time no mapping can format
(year 285,000: the server stores it, Amplitude's ISO time cannot be made) and a payload that does
not decode at all. Destinations dead-letter what they cannot use with the reason; stream sinks
record it as skipped with the reason; and in every case the records after the poison are
delivered and the cursor moves past them.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
for folder in ("pipeline", "destinations", "storage", "streams"):
    sys.path.insert(0, str(HERE.parent / folder))

from amplitude_standin import Standin  # noqa: E402
from pipeline_support import FAST, make_app, uploaded_event  # noqa: E402
from storage_support import run  # noqa: E402
from stream_support import OwnServer, Receiver, read_stream_at  # noqa: E402
from webhook_receiver import SECRET, WebhookReceiver  # noqa: E402

from tidings.pipeline import PipelineRunner  # noqa: E402
from tidings.pipeline.delivery import (  # noqa: E402
    Deliveries,
    InstanceSender,
    create_instance,
    cursor_name,
    dead_letters,
)
from tidings.pipeline.streams import SinkConsumers  # noqa: E402
from tidings.storage import EventIn, MemoryStore, Store  # noqa: E402
from tidings.streams import JsonlSink, StreamConsumer  # noqa: E402
from tidings.streams.jsonl import app_directory_name, read_jsonl_dir  # noqa: E402
from tidings.streams.sinkconfig import STREAMS_COLLECTION, dead_letter_collection  # noqa: E402

pytestmark = pytest.mark.reliability

FAR_FUTURE = 2**53 - 1
"""The largest time the server accepts: year 285,428, past what an ISO time can say."""


def _undecodable(event_id: str) -> EventIn:
    return EventIn(event_id, "Level Up", "custom", 1, b'{"source": "sdk", "event": {', "dev-x")


async def _log_with_poison(store: Store, app_id: str) -> tuple[list[str], list[str]]:
    """Five good events, the two poison records, five good events; returns (good ids, poison
    ids)."""
    good = [f"good-{n}" for n in range(10)]
    events = [uploaded_event(g, f"device-{n % 3}", app_id=app_id) for n, g in enumerate(good)]
    poison = [
        uploaded_event("poison-time", "device-0", app_id=app_id, ts=FAR_FUTURE),
        _undecodable("poison-bytes"),
    ]
    await store.ingest(app_id, events[:5] + poison + events[5:], arrival_ms=1)
    return good, [p.id for p in poison]


@pytest.mark.parametrize("kind", ["amplitude", "amplitude-currents"])
def test_a_destination_dead_letters_the_poison_and_delivers_the_rest(kind: str) -> None:
    async def main(amp: Standin) -> None:
        store = MemoryStore()
        app_id = await make_app(store)
        settings = {"apiKey": "test-key", "baseUrl": amp.url}
        instance = await create_instance(store, app_id, {"kind": kind, "settings": settings})
        good, poison = await _log_with_poison(store, app_id)
        await PipelineRunner(store, providers=[Deliveries().consumers]).run_until_idle()
        sender = InstanceSender(store, instance, FAST)
        await sender.drain()
        sender.close()
        delivered = {e["insert_id"].split(":")[0] for e in amp.accepted}
        assert set(good) <= delivered and not delivered & set(poison)
        letters = {d.item_key: d.reason for d in await dead_letters(store, instance.id)}
        assert len(letters) == 2, letters
        reasons = " ".join(letters.values())
        assert "OverflowError" in reasons or "out of range" in reasons
        assert "unreadable log row" in reasons
        assert await store.get_cursor(cursor_name(instance.id)) == await store.last_seq()

    with Standin() as amp:
        run(main(amp))


def test_a_webhook_destination_dead_letters_the_unreadable_and_sends_the_rest() -> None:
    async def main(hook: WebhookReceiver) -> None:
        store = MemoryStore()
        app_id = await make_app(store)
        settings = {"url": hook.url, "secret": SECRET}
        instance = await create_instance(store, app_id, {"kind": "webhook", "settings": settings})
        good, poison = await _log_with_poison(store, app_id)
        await PipelineRunner(store, providers=[Deliveries().consumers]).run_until_idle()
        sender = InstanceSender(store, instance, FAST)
        await sender.drain()
        sender.close()
        # The far-future event has no ISO time to give its message: it is dead-lettered too.
        assert hook.ids() == set(good)
        letters = {d.item_key: d.reason for d in await dead_letters(store, instance.id)}
        assert len(letters) == 2, letters
        assert "unreadable log row" in " ".join(letters.values())
        assert await store.get_cursor(cursor_name(instance.id)) == await store.last_seq()
        assert poison[0] not in hook.ids()

    with WebhookReceiver() as hook:
        run(main(hook))


async def _configured(store: Store, app_id: str, kind: str, settings: dict[str, Any]) -> str:
    body = {"kind": kind, "appIds": [app_id], "settings": settings}
    await store.reset_cursor("stream:snk_1", 0)
    await store.put_document(STREAMS_COLLECTION, "snk_1", body)
    return "snk_1"


async def _run_sink(store: Store) -> SinkConsumers:
    sinks = SinkConsumers(store)
    await PipelineRunner(store, providers=[sinks.consumers]).run_until_idle()
    await sinks.streams.close()
    return sinks


async def _skipped(store: Store, sink_id: str) -> list[dict[str, Any]]:
    docs = await store.list_documents(dead_letter_collection(sink_id))
    return [dict(d.body) for d in docs if d.body.get("skipped")]


def _ids(records: list[dict[str, Any]]) -> list[str]:
    return [str(r["attributes"].get("event_id") or r["event_id"]) for r in records]


def test_a_jsonl_sink_skips_the_poison_with_its_reason(tmp_path: Path) -> None:
    async def main() -> None:
        store = MemoryStore()
        app_id = await make_app(store)
        sink_id = await _configured(store, app_id, "jsonl", {"directory": str(tmp_path)})
        await _log_with_poison(store, app_id)
        await _run_sink(store)
        records = read_jsonl_dir(tmp_path / app_directory_name(app_id))
        assert len(records) == 11  # the ten good events and the far-future one: it has no
        # ISO time to format in a Pinpoint record, so only the undecodable row is skipped
        (skip,) = await _skipped(store, sink_id)
        assert "not JSON" in skip["reason"] and skip["seq"] == 7
        assert await store.get_cursor("stream:snk_1") == await store.last_seq()

    run(main())


def test_a_webhook_sink_skips_the_poison_with_its_reason() -> None:
    async def main(url: str, receiver: Receiver) -> None:
        store = MemoryStore()
        app_id = await make_app(store)
        sink_id = await _configured(store, app_id, "webhook", {"url": url})
        await _log_with_poison(store, app_id)
        await _run_sink(store)
        assert sum(len(b["events"]) for b in receiver.bodies) == 11
        (skip,) = await _skipped(store, sink_id)
        assert "not JSON" in skip["reason"]

    receiver = Receiver()
    with receiver.running():
        run(main(receiver.url, receiver))


def test_a_nats_sink_skips_the_poison_with_its_reason(tmp_path: Path) -> None:
    server = OwnServer(tmp_path / "js")
    server.start()

    async def main() -> None:
        store = MemoryStore()
        app_id = await make_app(store)
        sink_id = await _configured(store, app_id, "nats", {"servers": [server.url]})
        await _log_with_poison(store, app_id)
        await _run_sink(store)
        messages = await read_stream_at(server.url, f"TIDINGS_{app_id}")
        assert len(messages) == 11
        (skip,) = await _skipped(store, sink_id)
        assert "not JSON" in skip["reason"]

    try:
        run(main())
    finally:
        server.stop()


class _Refusing(JsonlSink):
    """A sink that cannot take one record (say, too large for it): it raises on it."""

    def deliver(self, records: Any) -> None:
        if any(r.get("attributes", {}).get("refuse") for r in records):
            raise ValueError("record too large for this sink")
        super().deliver(records)


def test_a_stream_consumer_skips_what_its_sink_refuses(tmp_path: Path) -> None:
    async def main() -> None:
        store = MemoryStore()
        app_id = await make_app(store)
        await _log_with_poison(store, app_id)
        refused = uploaded_event("refused", "device-1", app_id=app_id)
        payload = refused.payload.replace(b'"level":3', b'"level":3,"refuse":true')
        await store.ingest(app_id, [refused._replace(payload=payload)], arrival_ms=1)
        await store.ingest(
            app_id, [uploaded_event("last", "device-2", app_id=app_id)], arrival_ms=1
        )
        sink = _Refusing(tmp_path)
        consumer = StreamConsumer(store, sink, "stream:adhoc", batch_size=100)
        stats = await consumer.run_until_idle()
        await asyncio.to_thread(sink.close)
        records = read_jsonl_dir(tmp_path / app_directory_name(app_id))
        assert len(records) == 12  # eleven before, and the one after the refused record
        assert [seq for seq, _ in stats.skipped] == [7]
        assert [reason for _, reason in stats.refused] == [
            "the sink cannot take it: ValueError: record too large for this sink"
        ]
        assert await store.get_cursor("stream:adhoc") == await store.last_seq()

    run(main())
