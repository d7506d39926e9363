"""A scenario for server-side campaigns and conversion attribution, played on any store: an app
with a server campaign (a webhook call per sign-up, two per person, a purchase goal) and a device
campaign with the same goal; sign-ups of anonymous devices and users, device decisions, then
purchases; and what each device got, in terms that do not depend on the run's ids."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from storage_support import Backend
from webhook_receiver import SECRET

from tidings.core.partitions import partition_cursor
from tidings.pipeline import PipelineRunner
from tidings.pipeline.campaigns import CURSOR, ServerCampaigns
from tidings.pipeline.conversions import CONSUMER_NAME, ConversionAttribution
from tidings.pipeline.counting import COUNTING, Counting
from tidings.pipeline.delivery import create_instance
from tidings.server.ingest import build_items
from tidings.server.upload import Upload
from tidings.storage import LogRecord, Store
from tidings.storage.jetstream.results import pending_queue

T0 = 1_767_268_800_000  # 2026-01-01T12:00:00Z
HOUR = 3_600_000
DAY = "2026-01-01"
PARTITIONS = 4
PURCHASE_GOAL = [{"event": {"name": "Purchase", "type": "custom", "params": []}, "windowHours": 24}]


@dataclass(frozen=True, slots=True)
class Setup:
    app_id: str
    server_campaign: str
    device_campaign: str
    destination: str


async def setup(store: Store, limit: int, url: str = "http://127.0.0.1:9/never-called") -> Setup:
    project = await store.create_project("P")
    app_id = (await store.create_app(project.id, "A", "ios")).app_id
    hook = {
        "kind": "webhook",
        "name": "campaign calls",
        "settings": {"url": url, "secret": SECRET},
        "subscriptions": [],
    }
    instance = await create_instance(store, app_id, hook)
    server = {
        "name": "Welcome mail",
        "type": "Webhook",
        "channel": "server",
        "triggering": {
            "event": {"name": "Signed Up", "type": "custom"},
            "limit": {"limit": limit, "limitType": "device"},
        },
        "content": {
            "destinationId": instance.id,
            "channelType": "EMAIL",
            "body": {"text": "Welcome {{user.userId}}"},
        },
        "conversions": PURCHASE_GOAL,
    }
    device = {
        "name": "Upgrade",
        "type": "DeepLink",
        "priority": 1,
        "triggering": {"event": {"name": "Open", "type": "custom", "params": []}},
        "targeting": [],
        "content": {"url": "app://upgrade"},
        "conversions": PURCHASE_GOAL,
    }
    server_id = (await store.create_campaign(app_id, server, "Active")).id
    device_id = (await store.create_campaign(app_id, device, "Active")).id
    # The server-campaign consumer starts at the log's end: here, before the uploads.
    await store.commit_cursor(CURSOR, await store.last_seq())
    return Setup(app_id, server_id, device_id, instance.id)


def event(eid: str, name: str, ts: int) -> dict[str, Any]:
    return {"id": eid, "name": name, "type": "custom", "timestamp": ts, "sessionId": "s"}


async def upload(
    store: Store,
    app_id: str,
    device: str,
    user: str | None,
    events: Sequence[dict[str, Any]] = (),
    *,
    decisions: Sequence[dict[str, Any]] = (),
) -> None:
    upload = Upload(
        app_id=app_id,
        device={"deviceId": device, "platform": "ios", "osVersion": "17.1"},
        user_id=user,
        custom_properties=None,
        sessions={"s": {"id": "s", "counter": 1, "startedAt": T0 - 1000}},
        dropped=0,
        events=list(events),
        decisions=list(decisions),
    )
    ev, dec = build_items(upload)
    await store.ingest(app_id, ev, dec, arrival_ms=T0)


def device_decision(did: str, cid: str, status: str) -> dict[str, Any]:
    treatment = "0" if status == "SUCCESS" else None
    return {
        "id": did,
        "campaignId": cid,
        "status": status,
        "treatmentId": treatment,
        "source": None,
        "eventId": None,
        "timestamp": T0,
    }


ANONYMOUS = [f"anon-{i}" for i in range(12)]
USERS = [(f"user-{i}", f"ud-{i}") for i in range(6)]
SHOWN = [f"dc-{i}" for i in range(6)]


async def first_phase(store: Store, s: Setup) -> None:
    """Sign-ups (three per anonymous device, one per user), interleaved across devices, and
    device-side decisions of the device campaign, some converting in the same upload."""
    for round_ in range(3):
        for device in ANONYMOUS:
            await upload(
                store,
                s.app_id,
                device,
                None,
                [event(f"{device}-s{round_}", "Signed Up", T0 + round_ * 1000)],
            )
        for user, device in USERS:
            name = "Signed Up" if round_ == 0 else "Opened"
            await upload(
                store, s.app_id, device, user, [event(f"{device}-s{round_}", name, T0 + round_)]
            )
    for i, device in enumerate(SHOWN):
        status = "SUCCESS" if i % 3 else "HOLDOUT"
        bought = [event(f"{device}-p0", "Purchase", T0 + HOUR)] if i % 2 else []
        await upload(
            store,
            s.app_id,
            device,
            None,
            bought,
            decisions=[device_decision(f"dd-{device}", s.device_campaign, status)],
        )


async def second_phase(store: Store, s: Setup) -> None:
    """Purchases after every decision was made: conversions of server and device decisions."""
    for device in [*ANONYMOUS, *(d for _, d in USERS), *SHOWN]:
        user = dict((d, u) for u, d in USERS).get(device)
        await upload(
            store, s.app_id, device, user, [event(f"{device}-p1", "Purchase", T0 + 2 * HOUR)]
        )


def consumers(store: Store) -> PipelineRunner:
    campaigns = ServerCampaigns()
    conversions = ConversionAttribution(store)
    return PipelineRunner(
        store,
        consumers=[campaigns.consumer(store), conversions.consumer()],
        providers=[Counting(store).consumers],  # JetStream's campaign stats
        lease_ms=1500,
        idle_seconds=0.05,
        refresh_seconds=0.2,
    )


async def settled(store: Store) -> bool:
    """Every partition of both consumers read to the end, nothing queued for the log."""
    cursors = await store.list_cursors()
    for consumer in (CURSOR, CONSUMER_NAME, COUNTING):
        for p in range(PARTITIONS):
            name = partition_cursor(consumer, p)
            if name not in cursors or await store.lag(name) != 0:  # type: ignore[attr-defined]
                return False
            if await store.outbox_size(pending_queue(name)) != 0:
                return False
    return True


async def wait_settled(store: Store, seconds: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    calm = 0
    while calm < 3:  # settled three looks in a row: no batch was in flight
        if loop.time() > deadline:
            raise AssertionError("the partitions did not catch up")
        calm = calm + 1 if await settled(store) else 0
        await asyncio.sleep(0.1)


def decision_of(record: LogRecord) -> dict[str, Any]:
    decision: dict[str, Any] = orjson.loads(record.payload)["decision"]
    return decision


async def outcome(
    store: Store, s: Setup, delivered: Sequence[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """What each device got, in terms that do not depend on the run's ids: per device its
    decisions (triggering event or uploaded id, status) in log order; the events whose
    decisions have a call queued (or, given the calls a receiver accepted, delivered); per
    device its ``conversion`` log records (decision's key, goal, converting event); both
    campaigns' exposure and conversion counts and decision stats."""
    log = await store.read_log(0, 100_000)
    per_device: dict[str, list[tuple[str, str]]] = defaultdict(list)
    by_id: dict[str, str] = {}
    for r in log:
        if r.kind == "decision":
            d = decision_of(r)
            key = d.get("eventId") or d["id"]
            per_device[r.device_id or ""].append((key, d["status"]))
            by_id[r.item_id] = key
    converted: dict[str, list[tuple[str, int, str]]] = defaultdict(list)
    for r in log:
        if r.kind == "conversion":
            c = orjson.loads(r.payload)["conversion"]
            converted[r.device_id or ""].append((by_id[c["decisionId"]], c["goal"], c["eventId"]))
    if delivered is None:
        rows = await store.outbox_rows(s.destination, 10_000)
        calls = sorted(by_id[row.item_key] for row in rows)
    else:
        calls = sorted(by_id[call["decisionId"]] for call in delivered)
    counts = {
        "server": await store.conversion_counts(s.server_campaign, DAY, DAY),
        "device": await store.conversion_counts(s.device_campaign, DAY, DAY),
    }
    stats = {
        c: (await store.campaign_stats(c)).decisions for c in (s.server_campaign, s.device_campaign)
    }
    return {
        "decisions": dict(per_device),
        "calls": calls,
        "conversions": {device: sorted(found) for device, found in converted.items()},
        "counts": counts,
        "stats": stats,
    }


def sorted_counts(counts: tuple[list[Any], list[Any]]) -> tuple[list[Any], list[Any]]:
    return sorted(counts[0], key=str), sorted(counts[1], key=str)


async def on_sqlite(tmp_path: Path, limit: int, phases: Any) -> dict[str, Any]:
    path = tmp_path / "single.db"
    store = await Backend("sqlite", f"sqlite:///{path}", path=path).open()
    try:
        s = await setup(store, limit)
        runner = consumers(store)
        for phase in phases:
            await phase(store, s)
            await runner.run_until_idle()
        return await outcome(store, s)
    finally:
        await store.close()
