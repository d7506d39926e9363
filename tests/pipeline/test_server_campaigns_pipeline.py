"""Server-side campaigns through the pipeline on every backend: SDK and Segment events in the
log, decisions in the log and the stream, rendered calls at a receiver that verifies every
signature, limits per person, a refused call recorded as CUSTOM_DELIVERY_FAILURE."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from pipeline_support import T0, make_app
from storage_support import Backend, run
from webhook_receiver import SECRET, WebhookReceiver

from tidings.core.campaigns.identity import decision_id
from tidings.destinations.kind import BatchPolicy
from tidings.pipeline import PipelineRunner
from tidings.pipeline.campaigns import ServerCampaigns
from tidings.pipeline.delivery import Deliveries, SenderOptions, create_instance
from tidings.storage import EventIn, LogRecord, Store
from tidings.streams import records_from_row

FAST = SenderOptions(
    batch=BatchPolicy(100, max_wait_ms=0),
    poll_seconds=0.01,
    timeout_s=2.0,
    backoff_base_ms=20,
    backoff_cap_ms=200,
)
BODY = {
    "to": "{{traits.email}}",
    "plan": "{{event.properties.plan}}",
    "text": "Welcome {{user.userId}} to {{event.properties.plan}}",
}


def sdk_event(
    app_id: str, event_id: str, name: str, *, user: str, device: str, **props: Any
) -> EventIn:
    payload = {
        "source": "sdk",
        "appId": app_id,
        "device": {"deviceId": device, "platform": "iOS", "appVersion": "2.3.0"},
        "userId": user,
        "session": {"id": "s-1", "counter": 2, "startedAt": T0 - 1000},
        "customProperties": {"email": f"{user}@example.org"},
        "event": {
            "id": event_id,
            "name": name,
            "type": "custom",
            "timestamp": T0,
            "sessionId": "s-1",
            "properties": props,
        },
    }
    return EventIn(event_id, name, "custom", T0, orjson.dumps(payload), device, user)


def segment_message(app_id: str, message: dict[str, Any]) -> EventIn:
    name = message.get("event") or "$identify"
    record = {
        "id": message["messageId"],
        "name": name,
        "type": "custom",
        "timestamp": T0 + 5,
        "sessionId": None,
        "properties": message.get("properties") or {},
    }
    payload = {"source": "segment", "appId": app_id, "event": record, "message": message}
    return EventIn(
        message["messageId"],
        name,
        "custom",
        T0 + 5,
        orjson.dumps(payload),
        message.get("anonymousId"),
        message.get("userId"),
    )


async def setup(store: Store, url: str, **campaign: Any) -> tuple[str, str]:
    app_id = await make_app(store)
    body = {
        "kind": "webhook",
        "name": "campaign calls",
        "settings": {"url": url, "secret": SECRET},
        "subscriptions": [],  # no log events: only the campaigns' calls
    }
    instance = await create_instance(store, app_id, body)
    doc = {
        "name": "Welcome mail",
        "type": "Webhook",
        "channel": "server",
        "triggering": {
            "event": {"name": "Signed Up", "type": "custom"},
            "limit": {"limit": 1, "limitType": "device"},
        },
        "content": {"destinationId": instance.id, "channelType": "EMAIL", "body": BODY},
        **campaign,
    }
    stored = await store.create_campaign(app_id, doc, "Active")
    return app_id, stored.id


def pipeline(store: Store) -> PipelineRunner:
    deliveries = Deliveries(FAST)
    campaigns = ServerCampaigns(on_enqueued=deliveries.wake)
    return PipelineRunner(
        store,
        consumers=[campaigns.consumer(store)],
        providers=[deliveries.consumers],
        services={"destinations": deliveries.service},
        idle_seconds=0.02,
        refresh_seconds=0.1,
    )


async def until(predicate: Any, seconds: float = 30.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if await predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached")


async def decisions(store: Store) -> list[LogRecord]:
    return [r for r in await store.read_log(0, 10_000) if r.kind == "decision"]


def test_sdk_and_segment_events_trigger_rendered_calls_once_per_person(backend: Backend) -> None:
    async def main(hook: WebhookReceiver) -> None:
        store = await backend.open()
        app_id, cid = await setup(store, hook.url)
        async with pipeline(store):
            await asyncio.sleep(0.2)  # the consumer starts at the end of the log
            await store.ingest(
                app_id,
                [
                    sdk_event(app_id, "e1", "Signed Up", user="u1", device="d1", plan="pro"),
                    sdk_event(app_id, "e2", "Opened", user="u1", device="d1"),
                    sdk_event(app_id, "e3", "Signed Up", user="u1", device="d1", plan="max"),
                ],
                arrival_ms=T0,
            )
            identify = {
                "type": "identify",
                "messageId": "m1",
                "anonymousId": "anon-2",
                "traits": {"email": "ann@example.org"},
            }
            track = {
                "type": "track",
                "messageId": "m2",
                "anonymousId": "anon-2",
                "event": "Signed Up",
                "properties": {"plan": "team"},
            }
            await store.ingest(app_id, [segment_message(app_id, identify)], arrival_ms=T0)
            await store.ingest(app_id, [segment_message(app_id, track)], arrival_ms=T0)

            async def delivered() -> bool:
                return len(hook.accepted) == 2 and len(await decisions(store)) == 3

            await until(delivered)
        assert hook.state.forged == 0
        by_id = {h["webhook-id"]: orjson.loads(raw) for h, raw, status in hook.state.requests}
        d1, d3 = decision_id(app_id, "e1", cid), decision_id(app_id, "m2", cid)
        assert by_id[d1]["body"] == {
            "to": "u1@example.org",
            "plan": "pro",
            "text": "Welcome u1 to pro",
        }
        assert by_id[d3]["body"] == {
            "to": "ann@example.org",
            "plan": "team",
            "text": "Welcome  to team",
        }
        assert by_id[d1]["campaign"]["id"] == cid and by_id[d1]["event"]["id"] == "e1"
        logged = await decisions(store)
        statuses = {r.item_id: r.payload for r in logged}
        assert [orjson.loads(statuses[i])["decision"]["status"] for i in (d1, d3)] == [
            "SUCCESS"
        ] * 2
        capped = orjson.loads(statuses[decision_id(app_id, "e3", cid)])["decision"]
        assert capped["status"] == "CAMPAIGN_CAP"  # the limit holds per person
        (record,) = records_from_row(next(r for r in logged if r.item_id == d1))
        assert record["event_type"] == "_campaign.send"
        assert record["attributes"]["delivery_type"] == "CUSTOM"
        assert record["attributes"]["campaign_activity_id"] == d1
        endpoint = orjson.loads(record["client_context"]["custom"]["endpoint"])
        assert endpoint["ChannelType"] == "EMAIL"
        stats = await store.campaign_stats(cid)
        assert stats.decisions == {"SUCCESS": 2, "CAMPAIGN_CAP": 1}
        assert await store.identity_state_count() == 2
        await store.close()

    with WebhookReceiver() as hook:
        run(main(hook))


def test_a_refused_call_adds_custom_delivery_failure(backend: Backend) -> None:
    async def main(hook: WebhookReceiver) -> None:
        store = await backend.open()
        app_id, cid = await setup(store, hook.url)
        refused = decision_id(app_id, "e9", cid)
        hook.state.refuse.add(refused)
        async with pipeline(store):
            await asyncio.sleep(0.2)
            await store.ingest(
                app_id,
                [sdk_event(app_id, "e9", "Signed Up", user="u9", device="d9", plan="pro")],
                arrival_ms=T0,
            )

            async def failed() -> bool:
                return len(await decisions(store)) == 2

            await until(failed)
        logged = await decisions(store)
        failure = next(r for r in logged if r.item_id == f"{refused}-failure")
        (record,) = records_from_row(failure)
        assert record["attributes"]["campaign_send_status"] == "CUSTOM_DELIVERY_FAILURE"
        assert record["attributes"]["campaign_activity_id"] == refused
        assert record["attributes"]["delivery_type"] == "CUSTOM"
        stats = await store.campaign_stats(cid)
        assert stats.decisions == {"SUCCESS": 1, "CUSTOM_DELIVERY_FAILURE": 1}
        await store.close()

    with WebhookReceiver() as hook:
        run(main(hook))


def test_a_campaign_calling_a_missing_destination_fails_at_once(backend: Backend) -> None:
    async def main() -> None:
        store = await backend.open()
        app_id, cid = await setup(store, "http://127.0.0.1:9/never")
        stored = await store.get_campaign(cid)
        assert stored is not None
        body = dict(stored.body)
        body["content"] = {**body["content"], "destinationId": "dst_gone"}
        await store.replace_campaign(cid, body)
        runner = pipeline(store)
        await runner.run_until_idle()  # the cursor starts at the end of the log
        await store.ingest(
            app_id, [sdk_event(app_id, "e1", "Signed Up", user="u", device="d")], arrival_ms=T0
        )
        await runner.run_until_idle()
        stats = await store.campaign_stats(cid)
        assert stats.decisions == {"SUCCESS": 1, "CUSTOM_DELIVERY_FAILURE": 1}
        await store.close()

    run(main())


def test_an_archived_campaign_never_runs_on_the_server(backend: Backend) -> None:
    async def main() -> None:
        store = await backend.open()
        # Written to the store directly: the admin API and the dashboard refuse Active+archived.
        hidden_app, hidden = await setup(store, "http://127.0.0.1:9/never", archived=True)
        live_app, live = await setup(store, "http://127.0.0.1:9/never")
        runner = pipeline(store)
        await runner.run_until_idle()
        for app_id in (hidden_app, live_app):
            event = sdk_event(app_id, f"e-{app_id}", "Signed Up", user="u", device="d")
            await store.ingest(app_id, [event], arrival_ms=T0)
        await runner.run_until_idle()
        decided = {r.name for r in await decisions(store)}
        assert live in decided and hidden not in decided
        await store.close()

    run(main())
