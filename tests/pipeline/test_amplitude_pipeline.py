"""Amplitude delivery end to end: log → outbox → the stand-in over real HTTP, both backends."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

from amplitude_standin import Fault, Standin
from pipeline_support import (
    FAST,
    amplitude_instance,
    drain_outbox,
    log_events,
    make_all_due,
    make_app,
    outbox_rows,
)
from storage_support import Backend, run

from tidings.destinations.amplitude import BatchPolicy
from tidings.pipeline import PipelineRunner
from tidings.pipeline.delivery import (
    Deliveries,
    DirectOptions,
    InstanceSender,
    SenderOptions,
    dead_letters,
    discard,
    get_instance,
    replay,
    retry,
    set_paused,
    update_instance,
)
from tidings.storage import Store


async def _until(predicate: Any, rounds: int = 3000) -> None:
    for _ in range(rounds):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


def _runner(store: Store, options: SenderOptions = FAST) -> PipelineRunner:
    deliveries = Deliveries(options)
    runner = PipelineRunner(
        store,
        consumers=[],
        providers=[deliveries.consumers],
        services={"destinations": deliveries.service},
        idle_seconds=0.05,
        refresh_seconds=0.1,
    )
    return runner


def _per_device(events: list[dict[str, Any]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for e in events:
        out[e["device_id"]].append(e["insert_id"])
    return out


def test_every_event_once_in_device_order(backend: Backend, amp: Standin) -> None:
    async def main() -> None:
        store = await backend.open()
        app_id = await make_app(store)
        await amplitude_instance(store, app_id, amp.url)
        async with _runner(store):
            ids = await log_events(store, app_id, 300, devices=12)
            await _until(lambda: len(amp.accepted) == 300)
        assert sorted(e["insert_id"] for e in amp.accepted) == ids
        assert amp.state.received == 300  # nothing was sent twice
        expected = _per_device(
            [{"device_id": f"device-{i % 12:04d}", "insert_id": e} for i, e in enumerate(ids)]
        )
        assert _per_device(amp.accepted) == expected
        assert await outbox_rows(store) == []
        await store.close()

    run(main())


def test_invalid_events_are_dead_lettered_with_the_reason(backend: Backend, amp: Standin) -> None:
    async def main() -> None:
        store = await backend.open()
        app_id = await make_app(store)
        instance = await amplitude_instance(store, app_id, amp.url)
        good = await log_events(store, app_id, 20, devices=4)
        bad = await log_events(store, app_id, 3, devices=1, prefix="bad")
        # A device id Amplitude refuses: the stand-in answers 400 naming those events.
        from pipeline_support import sdk_event

        await store.ingest(app_id, [sdk_event("bad-null", "null", app_id=app_id)], arrival_ms=1)
        await PipelineRunner(
            store, consumers=[], providers=[Deliveries().consumers]
        ).run_until_idle()
        await drain_outbox(store, instance.id)
        assert sorted(e["insert_id"] for e in amp.accepted) == sorted(good + bad)
        letters = await dead_letters(store, instance.id)
        assert [d.item_key.split("/")[0] for d in letters] == ["bad-null"]
        letter = letters[0]
        assert letter.reason == "invalid field device_id"
        assert isinstance(letter.response, dict) and letter.response["status"] == 400
        assert isinstance(letter.request, dict)
        assert letter.request["json"]["events"][0]["insert_id"] == "bad-null"
        assert await outbox_rows(store) == []
        await store.close()

    run(main())


def test_failures_retry_until_delivered_and_never_count_twice(
    backend: Backend, amp: Standin
) -> None:
    async def main() -> None:
        store = await backend.open()
        app_id = await make_app(store)
        instance = await amplitude_instance(store, app_id, amp.url)
        ids = await log_events(store, app_id, 40, devices=8)
        await PipelineRunner(
            store, consumers=[], providers=[Deliveries().consumers]
        ).run_until_idle()
        sender = InstanceSender(store, instance, SenderOptions(timeout_s=0.5))
        amp.fail_next(
            Fault(status=503),
            Fault(accept_first=True),  # stored by Amplitude, but the answer says 500
            Fault(delay_s=1.5),  # slower than the timeout
            Fault(reset=True),  # connection dropped
        )
        reasons = []
        for _ in range(4):
            await sender.step(force=True)
            rows = await outbox_rows(store)
            assert len(rows) == 40  # nothing lost, nothing given up
            reasons.append(rows[0][2])
            await make_all_due(store)
        assert reasons[0] == "HTTP 503" and reasons[1] == "HTTP 500"
        assert reasons[2].startswith("timeout") and reasons[3].startswith("connection error")
        assert (await outbox_rows(store))[0][1] == 4  # attempts counted for the backoff
        await sender.drain()
        sender.close()
        assert sorted(e["insert_id"] for e in amp.accepted) == ids  # each counted once
        assert amp.state.received == 80  # the "accepted, then 500" batch went twice
        await store.close()

    run(main())


def test_throttling_and_daily_quota_hold_only_those_devices(backend: Backend, amp: Standin) -> None:
    async def main() -> None:
        store = await backend.open()
        app_id = await make_app(store)
        instance = await amplitude_instance(store, app_id, amp.url)
        await log_events(store, app_id, 30, devices=3)
        await PipelineRunner(
            store, consumers=[], providers=[Deliveries().consumers]
        ).run_until_idle()
        amp.fail_next(
            Fault(
                status=429,
                body={
                    "code": 429,
                    "error": "Too many requests for some devices and users",
                    "throttled_devices": {"device-0000": 31},
                    "exceeded_daily_quota_devices": {"device-0001": 500_001},
                },
            )
        )
        sender = InstanceSender(store, instance, FAST)
        await sender.step(force=True)
        delivered = {e["device_id"] for e in amp.accepted}
        assert delivered == {"device-0002"} and len(amp.accepted) == 10
        reasons = {r[2] for r in await outbox_rows(store)}
        assert reasons == {"throttled", "daily quota exceeded"}
        assert await sender.drain() == 0  # not due yet: nothing is sent early
        await make_all_due(store)
        await sender.drain()
        sender.close()
        assert len(amp.accepted) == 30
        await store.close()

    run(main())


def test_a_device_waits_behind_its_retrying_event(backend: Backend, amp: Standin) -> None:
    async def main() -> None:
        store = await backend.open()
        app_id = await make_app(store)
        instance = await amplitude_instance(store, app_id, amp.url)
        consumers = PipelineRunner(store, providers=[Deliveries().consumers])
        first = await log_events(store, app_id, 1, devices=1)  # device-0000
        await consumers.run_until_idle()
        amp.fail_next(Fault(status=500))
        sender = InstanceSender(store, instance, FAST)
        await sender.step(force=True)
        later = await log_events(store, app_id, 6, devices=2, start=10)  # devices 0 and 1
        await consumers.run_until_idle()
        await sender.drain()
        assert {e["device_id"] for e in amp.accepted} == {"device-0001"}  # device 0 waits
        await make_all_due(store)
        await sender.drain()
        sender.close()
        order = _per_device(amp.accepted)["device-0000"]
        assert order == first + [e for i, e in enumerate(later) if (10 + i) % 2 == 0]
        await store.close()

    run(main())


def test_an_invalid_api_key_pauses_the_instance_without_dropping(
    backend: Backend, amp: Standin
) -> None:
    async def main() -> None:
        store = await backend.open()
        app_id = await make_app(store)
        instance = await amplitude_instance(store, app_id, amp.url, api_key="wrong-key")
        ids = await log_events(store, app_id, 12, devices=3)
        async with _runner(store):
            await _until(lambda: amp.state.requests)
            for _ in range(300):
                if (await get_instance(store, instance.id)).paused:
                    break
                await asyncio.sleep(0.01)
            paused = (await get_instance(store, instance.id)).paused
            assert paused is not None and "Invalid API key" in paused["reason"]
            assert len(await outbox_rows(store)) == 12
            await update_instance(store, instance.id, {"settings": {"apiKey": "test-key"}})
            await set_paused(store, instance.id, None)
            await _until(lambda: len(amp.accepted) == 12)
        assert sorted(e["insert_id"] for e in amp.accepted) == ids
        await store.close()

    run(main())


def test_a_restart_mid_delivery_resumes_without_loss(backend: Backend, amp: Standin) -> None:
    async def main() -> None:
        store = await backend.open()
        app_id = await make_app(store)
        await amplitude_instance(store, app_id, amp.url)
        slow = SenderOptions(
            batch=BatchPolicy(20, max_wait_ms=0),
            poll_seconds=0.05,
            direct=DirectOptions(min_events=10**9),  # the outbox sender is stopped mid-way
        )
        amp.fail_next(*[Fault(delay_s=0.1) for _ in range(4)])  # slow answers, then fast
        runner = _runner(store, slow)
        await runner.start()
        ids = await log_events(store, app_id, 200, devices=10)
        await _until(lambda: len(amp.accepted) >= 20)
        await runner.stop()
        await store.close()
        assert len(amp.accepted) < 200  # stopped mid-way

        store = await backend.open()
        async with _runner(store, slow):
            await _until(lambda: len(amp.accepted) == 200)
        assert sorted(e["insert_id"] for e in amp.accepted) == ids
        await store.close()

    run(main())


def test_replay_of_a_range_resends_under_the_same_insert_ids(
    backend: Backend, amp: Standin
) -> None:
    async def main() -> None:
        store = await backend.open()
        app_id = await make_app(store)
        instance = await amplitude_instance(store, app_id, amp.url)
        ids = await log_events(store, app_id, 50, devices=5)
        await PipelineRunner(
            store, consumers=[], providers=[Deliveries().consumers]
        ).run_until_idle()
        sender = InstanceSender(store, instance, FAST)
        await sender.drain()
        from pipeline_support import T0

        done = await replay(store, instance, T0 + 10, T0 + 30)
        assert (done.records, done.items) == (20, 20)
        await sender.drain()
        sender.close()
        assert amp.state.received == 70
        assert sorted(e["insert_id"] for e in amp.accepted) == ids  # counted once in Amplitude
        await store.close()

    run(main())


def test_dead_letters_retry_and_discard(backend: Backend, amp: Standin) -> None:
    async def main() -> None:
        store = await backend.open()
        app_id = await make_app(store)
        instance = await amplitude_instance(store, app_id, amp.url)
        await log_events(store, app_id, 4, devices=4)
        await PipelineRunner(
            store, consumers=[], providers=[Deliveries().consumers]
        ).run_until_idle()
        amp.fail_next(*[Fault(status=413)] * 4)
        sender = InstanceSender(store, instance, FAST)
        await sender.drain()  # 4 → 2 + 2 → 1 + 1: both singles too large, the other half sent
        letters = await dead_letters(store, instance.id)
        assert [d.reason for d in letters] == ["payload too large for one request"] * 2
        assert len(amp.accepted) == 2
        assert await retry(store, instance.id, [letters[0].id]) == 1
        await sender.drain()
        assert len(amp.accepted) == 3
        assert await discard(store, instance.id) == 1
        assert await dead_letters(store, instance.id) == []
        sender.close()
        await store.close()

    run(main())
