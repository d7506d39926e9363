"""Log batches sent straight to Amplitude: only what must wait reaches the outbox, both backends.

No sender service runs in these tests unless one drains the outbox explicitly, so whatever the
stand-in accepted before that was sent by the log consumer itself.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from amplitude_standin import Fault, Standin
from pipeline_support import (
    amplitude_instance,
    drain_outbox,
    log_events,
    make_all_due,
    make_app,
)
from pipeline_support import outbox_rows as rows_of
from storage_support import Backend, run

from tidings.pipeline import PipelineRunner
from tidings.pipeline.delivery import (
    Deliveries,
    DirectOptions,
    SenderOptions,
    dead_letters,
    get_instance,
    set_paused,
)
from tidings.storage import Store

DIRECT = DirectOptions(min_events=10, chunk_events=50)


async def _consume(store: Store, options: DirectOptions = DIRECT) -> None:
    runner = PipelineRunner(
        store, consumers=[], providers=[Deliveries(SenderOptions(direct=options)).consumers]
    )
    await runner.run_until_idle()


def _per_device(events: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Each device's insert ids in the order the stand-in first accepted them."""
    out: dict[str, list[str]] = defaultdict(list)
    for e in events:
        out[e["device_id"]].append(e["insert_id"])
    return out


def _expected(ids: list[str], devices: int) -> dict[str, list[str]]:
    return _per_device(
        [{"device_id": f"device-{i % devices:04d}", "insert_id": e} for i, e in enumerate(ids)]
    )


def test_a_large_batch_is_delivered_by_the_consumer_without_outbox_rows(
    backend: Backend, amp: Standin
) -> None:
    async def main() -> None:
        store = await backend.open()
        app_id = await make_app(store)
        await amplitude_instance(store, app_id, amp.url)
        ids = await log_events(store, app_id, 300, devices=12)
        await _consume(store)
        assert sorted(e["insert_id"] for e in amp.accepted) == ids
        assert amp.state.received == 300  # nothing was sent twice
        assert _per_device(amp.accepted) == _expected(ids, 12)
        assert [n for p, n in amp.state.requests if p == "/2/httpapi"] == [200] * 6  # chunks
        assert await rows_of(store) == []
        await store.close()

    run(main())


def test_a_small_batch_goes_through_the_outbox(backend: Backend, amp: Standin) -> None:
    async def main() -> None:
        store = await backend.open()
        app_id = await make_app(store)
        await amplitude_instance(store, app_id, amp.url)
        await log_events(store, app_id, 5, devices=2)
        await _consume(store)
        assert amp.accepted == []  # below min_events: queued for the outbox's batching
        assert len(await rows_of(store)) == 5
        await store.close()

    run(main())


def test_failed_events_and_their_devices_later_events_wait_in_the_outbox(
    backend: Backend, amp: Standin
) -> None:
    async def main() -> None:
        store = await backend.open()
        app_id = await make_app(store)
        instance = await amplitude_instance(store, app_id, amp.url)
        ids = await log_events(store, app_id, 120, devices=6)
        amp.fail_next(Fault(status=503))  # the first chunk's request
        await _consume(store)
        rows = await rows_of(store)
        # The first chunk (50 events, every device) failed: each device's later events queue
        # behind its retry, so nothing else of those devices went out.
        assert amp.accepted == []
        assert [key for key, _, _ in rows] == [f"{i}/Track Calls/0" for i in ids]
        assert {(a, r) for _, a, r in rows[:50]} == {(1, "HTTP 503")}
        assert {(a, r) for _, a, r in rows[50:]} == {(0, "")}
        await make_all_due(store)
        await drain_outbox(store, instance.id)
        assert _per_device(amp.accepted) == _expected(ids, 6)
        assert await rows_of(store) == []
        await store.close()

    run(main())


def test_devices_with_rows_waiting_queue_behind_them(backend: Backend, amp: Standin) -> None:
    async def main() -> None:
        store = await backend.open()
        app_id = await make_app(store)
        instance = await amplitude_instance(store, app_id, amp.url)
        first = await log_events(store, app_id, 3, devices=3)  # small: queued, devices 0-2
        await _consume(store)
        later = await log_events(store, app_id, 60, devices=6, start=3, prefix="later")
        await _consume(store)
        sent = {e["device_id"] for e in amp.accepted}
        assert sent == {"device-0003", "device-0004", "device-0005"}
        waiting = {key.split("/")[0] for key, _, _ in await rows_of(store)}
        assert waiting == set(first) | {
            e for i, e in enumerate(later, start=3) if i % 6 in (0, 1, 2)
        }
        await drain_outbox(store, instance.id)
        assert _per_device(amp.accepted) == _expected(first + later, 6)
        await store.close()

    run(main())


def test_an_invalid_api_key_pauses_the_instance_and_keeps_every_event(
    backend: Backend, amp: Standin
) -> None:
    async def main() -> None:
        store = await backend.open()
        app_id = await make_app(store)
        instance = await amplitude_instance(store, app_id, amp.url, api_key="revoked-key")
        ids = await log_events(store, app_id, 100, devices=5)
        await _consume(store)
        assert amp.accepted == []
        assert [key.split("/")[0] for key, _, _ in await rows_of(store)] == ids
        assert await dead_letters(store, instance.id) == []
        paused = (await get_instance(store, instance.id)).paused
        assert paused is not None and "Invalid API key" in paused["reason"]
        await log_events(store, app_id, 20, devices=5, start=100)
        await _consume(store)  # paused: queued without sending
        assert len(await rows_of(store)) == 120
        assert [p for p, _ in amp.state.requests] == ["/2/httpapi"]  # one refused request
        await store.close()

    run(main())


def test_a_resumed_instance_is_sent_straight_again(backend: Backend, amp: Standin) -> None:
    async def main() -> None:
        store = await backend.open()
        app_id = await make_app(store)
        instance = await amplitude_instance(store, app_id, amp.url)
        amp.state.api_keys.discard("test-key")  # Amplitude refuses the key for a while
        await log_events(store, app_id, 50, devices=5)
        await _consume(store)
        assert (await get_instance(store, instance.id)).paused is not None
        amp.state.api_keys.add("test-key")
        await set_paused(store, instance.id, None)
        later = await log_events(store, app_id, 50, devices=5, start=50, prefix="later")
        await _consume(store)
        # Devices 0-4 all have rows waiting from the paused batch: the new events queue behind.
        assert amp.accepted == []
        assert len(await rows_of(store)) == 100
        await drain_outbox(store, instance.id)
        fresh = await log_events(store, app_id, 50, devices=5, start=100, prefix="fresh")
        await _consume(store)  # nothing waits any more: sent by the consumer, not refused
        assert [e["insert_id"] for e in amp.accepted][-50:] == fresh
        assert later[0] in {e["insert_id"] for e in amp.accepted}
        assert (await get_instance(store, instance.id)).paused is None
        await store.close()

    run(main())
