"""The webhook kind end to end, against a real local receiver that verifies every signature:
faults (500 for a while, 429, timeouts, a 400 for one event), replay and a rendered payload with
its own id; every event delivered at least once, in device order, dead letters with reasons."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

import orjson
from pipeline_support import T0, log_events, make_app
from storage_support import Backend, run
from webhook_receiver import SECRET, WebhookReceiver, event_id

from tidings.destinations.kind import BatchPolicy
from tidings.pipeline import PipelineRunner
from tidings.pipeline.delivery import (
    Deliveries,
    DirectOptions,
    Instance,
    InstanceSender,
    RenderedItem,
    SenderOptions,
    create_instance,
    dead_letters,
    enqueue_rendered,
    get_instance,
    replay,
)
from tidings.storage import Store

FAST = SenderOptions(
    batch=BatchPolicy(100, max_wait_ms=0),
    poll_seconds=0.01,
    timeout_s=0.5,
    direct=DirectOptions(min_events=20, chunk_events=50),
    backoff_base_ms=20,
    backoff_cap_ms=200,
)


async def webhook(store: Store, app_id: str, url: str, **settings: Any) -> Instance:
    body = {
        "kind": "webhook",
        "name": "hook",
        "settings": {"url": url, "secret": SECRET, "maxEvents": 25, **settings},
    }
    return await create_instance(store, app_id, body)


def per_device(events: list[dict[str, Any]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for e in events:
        out[e["anonymousId"]].append(event_id(e))
    return out


def expected(ids: list[str], devices: int) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for n, i in enumerate(ids):
        out[f"device-{n % devices:04d}"].append(i)
    return out


async def until(predicate: Any, seconds: float = 30.0) -> None:
    for _ in range(int(seconds / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


def runner(store: Store, deliveries: Deliveries) -> PipelineRunner:
    return PipelineRunner(
        store,
        providers=[deliveries.consumers],
        services={"destinations": deliveries.service},
        idle_seconds=0.02,
        refresh_seconds=0.1,
    )


def test_faults_every_event_at_least_once_in_device_order(backend: Backend) -> None:
    async def main(hook: WebhookReceiver) -> None:
        store = await backend.open()
        app_id = await make_app(store)
        instance = await webhook(store, app_id, hook.url)
        hook.state.refuse.add("ev-000123")
        hook.state.throttle = 3
        hook.state.slow = 2
        deliveries = Deliveries(FAST)
        with hook.failing_for(1.0):  # "500 for a minute", shortened with the backoff
            async with runner(store, deliveries):
                ids = await log_events(store, app_id, 400, devices=8)
                await until(lambda: len(hook.ids()) == 399)
                for _ in range(500):
                    if letters := await dead_letters(store, instance.id):
                        break
                    await asyncio.sleep(0.02)
        assert hook.state.forged == 0  # every request verified under the secret
        assert hook.ids() == set(ids) - {"ev-000123"}
        want = expected(ids, 8)
        want["device-0003"].remove("ev-000123")
        assert per_device(hook.accepted) == want
        statuses = {status for _, _, status in hook.state.requests}
        assert {500, 429, 400, 200} <= statuses
        (letter,) = letters
        assert letter.item_key == "ev-000123" and letter.reason.startswith("HTTP 400")
        assert isinstance(letter.response, dict) and letter.response["status"] == 400
        await store.close()

    with WebhookReceiver() as hook:
        run(main(hook))


def test_replay_resends_under_the_same_ids_and_pinpoint_records(backend: Backend) -> None:
    async def main(hook: WebhookReceiver) -> None:
        store = await backend.open()
        app_id = await make_app(store)
        instance = await webhook(store, app_id, hook.url, format="pinpoint")
        ids = await log_events(store, app_id, 30, devices=3)
        await PipelineRunner(store, providers=[Deliveries(FAST).consumers]).run_until_idle()
        sender = InstanceSender(store, instance, FAST)
        await sender.drain()
        sent = len(hook.state.requests)
        done = await replay(store, instance, T0 + 10, T0 + 20)
        assert (done.records, done.items) == (10, 10)
        await sender.drain()
        sender.close()
        assert len(hook.state.requests) > sent  # sent again...
        assert hook.ids() == set(ids)  # ...under the same ids: the receiver keeps one each
        assert {e["event_type"] for e in hook.accepted} == {"Level Up"}
        await store.close()

    with WebhookReceiver() as hook:
        run(main(hook))


def test_a_rendered_payload_goes_alone_under_its_own_id(backend: Backend) -> None:
    async def main(hook: WebhookReceiver) -> None:
        store = await backend.open()
        app_id = await make_app(store)
        instance = await webhook(store, app_id, hook.url)
        payload = {"type": "campaign.decision", "data": {"campaignId": "c-1", "user": "u-1"}}
        item = RenderedItem("dec_0001", payload, order_key="u-1")
        assert await enqueue_rendered(store, instance.id, [item, item]) == 1
        sender = InstanceSender(store, await get_instance(store, instance.id), FAST)
        await sender.drain()
        sender.close()
        ((headers, raw, status),) = hook.state.requests
        assert status == 200 and headers["webhook-id"] == "dec_0001"
        assert raw == b'{"type":"campaign.decision","data":{"campaignId":"c-1","user":"u-1"}}'
        await store.close()

    with WebhookReceiver() as hook:
        run(main(hook))


def test_a_rotated_secret_signs_with_both_keys() -> None:
    old = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"
    new_secret = SECRET

    async def main(hook: WebhookReceiver) -> None:
        from tidings.storage import MemoryStore

        store = MemoryStore()
        app_id = await make_app(store)
        instance = await webhook(store, app_id, hook.url, previousSecrets=[old])
        await log_events(store, app_id, 3, devices=1)
        await PipelineRunner(store, providers=[Deliveries(FAST).consumers]).run_until_idle()
        sender = InstanceSender(store, instance, FAST)
        await sender.drain()
        sender.close()
        ((headers, _, status),) = hook.state.requests
        assert status == 200  # the receiver still on the old secret verifies
        assert len(headers["webhook-signature"].split(" ")) == 2
        assert hook.state.forged == 0 and len(hook.ids()) == 3
        shown = (await get_instance(store, instance.id)).to_json()["settings"]
        assert shown["secret"] == "whsec_***" and shown["previousSecrets"] == ["whsec_***"]
        assert new_secret != old

    with WebhookReceiver(secret=old) as hook:
        run(main(hook))


def test_a_worker_killed_with_sigkill_loses_nothing(sql_backend: Backend) -> None:
    """A real ``tidings worker`` sending to the receiver is killed mid-way with SIGKILL; a new
    one takes over from the committed cursor and outbox: every event arrives, in device order."""
    import signal

    from test_worker_process import _start, _wait

    async def setup(url: str) -> str:
        store = await sql_backend.open()
        app_id = await make_app(store)
        await webhook(store, app_id, url, maxEvents=10)
        await store.close()
        return app_id

    async def log(app_id: str) -> list[str]:
        store = await sql_backend.open()
        ids = await log_events(store, app_id, 300, devices=6)
        await store.close()
        return ids

    with WebhookReceiver(slow=6, slow_s=0.3) as hook:  # slow answers at first
        ids = run(log(run(setup(hook.url))))
        first = _start(sql_backend.url)
        try:
            _wait(lambda: len(hook.ids()) >= 30)
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=30)
        finally:
            if first.poll() is None:
                first.kill()
        assert len(hook.ids()) < 300  # killed mid-way
        second = _start(sql_backend.url)
        try:
            _wait(lambda: len(hook.ids()) == 300)
            second.send_signal(signal.SIGTERM)
            assert second.wait(timeout=30) == 0, second.stderr.read() if second.stderr else ""
        finally:
            if second.poll() is None:
                second.kill()
        assert hook.state.forged == 0
        assert per_device(hook.accepted) == expected(ids, 6)


def test_pinpoint_campaign_records_carry_the_projects_account(backend: Backend) -> None:
    """The Pinpoint format's campaign records name the account they were sent from: the
    project's ``awsAccountId``, else the project id, handed over before mapping."""
    from pipeline_support import sdk_event

    def shown(event_id: str, app_id: str) -> Any:
        event = sdk_event(event_id, "d-1", app_id=app_id, name="CampaignShown")
        payload = orjson.loads(event.payload)
        payload["event"] |= {"type": "system", "properties": {"campaignId": "c-1"}}
        return event._replace(type="system", payload=orjson.dumps(payload))

    async def main(hook: WebhookReceiver) -> None:
        store = await backend.open()
        app_id = await make_app(store)
        app = await store.get_app(app_id)
        assert app is not None
        project = await store.get_project(app.project_id)
        assert project is not None
        instance = await webhook(store, app_id, hook.url, format="pinpoint")
        await store.ingest(
            app_id,
            [shown("ev-1", app_id)],
            arrival_ms=T0,
        )
        await PipelineRunner(store, providers=[Deliveries(FAST).consumers]).run_until_idle()
        merged = project.settings.merged({"awsAccountId": "123456789012"})
        await store.update_project_settings(project.id, merged)
        await store.ingest(
            app_id,
            [shown("ev-2", app_id)],
            arrival_ms=T0,
        )
        await PipelineRunner(store, providers=[Deliveries(FAST).consumers]).run_until_idle()
        sender = InstanceSender(store, instance, FAST)
        await sender.drain()
        sender.close()
        sent = [e for _, raw, _ in hook.state.requests for e in orjson.loads(raw)["events"]]
        accounts = {(e["event_id"][:4], e["event_type"]): e.get("awsAccountId") for e in sent}
        assert accounts[("ev-1", "_inapp.message_displayed")] == project.id
        assert accounts[("ev-2", "_inapp.message_displayed")] == "123456789012"
        assert accounts[("ev-1", "CampaignShown")] is None  # app events carry no account
        await store.close()

    with WebhookReceiver() as hook:
        run(main(hook))


def test_one_injected_clock_drives_delivery(backend: Backend) -> None:
    """Delivery reads time only through ``SenderOptions.clock``: enqueue and due times, the
    signature's timestamp and the maximum age all follow it (here minutes ahead of the wall
    clock, inside the receiver's tolerance), never the wall clock itself."""
    import dataclasses
    import time

    async def main(hook: WebhookReceiver) -> None:
        store = await backend.open()
        app_id = await make_app(store)
        instance = await webhook(store, app_id, hook.url)
        start = int(time.time() * 1000) + 180_000
        now = [start]
        options = dataclasses.replace(FAST, clock=lambda: now[0], max_age_ms=60_000)
        await log_events(store, app_id, 4, devices=1)
        await PipelineRunner(store, providers=[Deliveries(options).consumers]).run_until_idle()
        assert [r.enqueued_ms for r in await store.outbox_rows(instance.id, 10)] == [start] * 4
        hook.state.throttle = 1  # one 429: retried one backoff after the injected now
        sender = InstanceSender(store, instance, options)
        await sender.step(force=True)
        rows = await store.outbox_rows(instance.id, 10)
        assert len(rows) == 4 and all(start + 10 <= r.due_ms <= start + 20 for r in rows)
        ((headers, _, status),) = hook.state.requests
        assert (status, headers["webhook-timestamp"]) == (429, str(start // 1000))
        # Past the maximum age by this clock alone (the wall clock has them not even due): the
        # 500 that follows makes them dead rather than retried.
        now[0] = start + 61_000
        with hook.failing_for(5.0):
            await sender.step(force=True)
        sender.close()
        (_, (headers, _, status)) = hook.state.requests
        assert (status, headers["webhook-timestamp"]) == (500, str(now[0] // 1000))
        assert hook.state.forged == 0 and await store.outbox_rows(instance.id, 10) == []
        letters = await dead_letters(store, instance.id)
        assert len(letters) == 4 and all("HTTP 500" in d.reason for d in letters), letters
        await store.close()

    with WebhookReceiver() as hook:
        run(main(hook))
