"""Server-side campaigns and conversion attribution on a partitioned JetStream log, driven by two
runners sharing the partitions: every device gets the decisions, calls and conversions the same
input gives on SQLite (one behaviour, however many runners), each decision in its device's
partition after the event that triggered it; a user on two devices in two partitions keeps one
state (the campaign's per-person limit holds across them)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from storage_support import Backend, run
from webhook_receiver import SECRET

from tidings.core.partitions import partition_cursor, partition_key, partition_of
from tidings.pipeline import PipelineRunner
from tidings.pipeline.campaigns import CURSOR, ServerCampaigns
from tidings.pipeline.conversions import CONSUMER_NAME, ConversionAttribution
from tidings.pipeline.counting import COUNTING, Counting
from tidings.pipeline.delivery import create_instance
from tidings.server.ingest import build_items
from tidings.server.upload import Upload
from tidings.storage import LogRecord, Store
from tidings.storage.jetstream.results import pending_queue

pytestmark = pytest.mark.nats

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


async def _setup(store: Store, limit: int) -> Setup:
    project = await store.create_project("P")
    app_id = (await store.create_app(project.id, "A", "ios")).app_id
    hook = {
        "kind": "webhook",
        "name": "campaign calls",
        "settings": {"url": "http://127.0.0.1:9/never-called", "secret": SECRET},
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


def _event(eid: str, name: str, ts: int) -> dict[str, Any]:
    return {"id": eid, "name": name, "type": "custom", "timestamp": ts, "sessionId": "s"}


async def _upload(
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


def _device_decision(did: str, cid: str, status: str) -> dict[str, Any]:
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


async def _first_phase(store: Store, s: Setup) -> None:
    """Sign-ups (three per anonymous device, one per user), interleaved across devices, and
    device-side decisions of the device campaign, some converting in the same upload."""
    for round_ in range(3):
        for device in ANONYMOUS:
            await _upload(
                store,
                s.app_id,
                device,
                None,
                [_event(f"{device}-s{round_}", "Signed Up", T0 + round_ * 1000)],
            )
        for user, device in USERS:
            name = "Signed Up" if round_ == 0 else "Opened"
            await _upload(
                store, s.app_id, device, user, [_event(f"{device}-s{round_}", name, T0 + round_)]
            )
    for i, device in enumerate(SHOWN):
        status = "SUCCESS" if i % 3 else "HOLDOUT"
        bought = [_event(f"{device}-p0", "Purchase", T0 + HOUR)] if i % 2 else []
        await _upload(
            store,
            s.app_id,
            device,
            None,
            bought,
            decisions=[_device_decision(f"dd-{device}", s.device_campaign, status)],
        )


async def _second_phase(store: Store, s: Setup) -> None:
    """Purchases after every decision was made: conversions of server and device decisions."""
    for device in [*ANONYMOUS, *(d for _, d in USERS), *SHOWN]:
        user = dict((d, u) for u, d in USERS).get(device)
        await _upload(
            store, s.app_id, device, user, [_event(f"{device}-p1", "Purchase", T0 + 2 * HOUR)]
        )


def _consumers(store: Store) -> PipelineRunner:
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


async def _settled(store: Store) -> bool:
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


async def _wait_settled(store: Store, seconds: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    calm = 0
    while calm < 3:  # settled three looks in a row: no batch was in flight
        if loop.time() > deadline:
            raise AssertionError("the partitions did not catch up")
        calm = calm + 1 if await _settled(store) else 0
        await asyncio.sleep(0.1)


def _decision_of(record: LogRecord) -> dict[str, Any]:
    decision: dict[str, Any] = orjson.loads(record.payload)["decision"]
    return decision


async def _outcome(store: Store, s: Setup) -> dict[str, Any]:
    """What each device got, in terms that do not depend on the run's ids: per device its
    decisions (triggering event or uploaded id, status) in log order; the events whose
    decisions have a call queued; both campaigns' exposure and conversion counts."""
    log = await store.read_log(0, 100_000)
    per_device: dict[str, list[tuple[str, str]]] = defaultdict(list)
    by_id: dict[str, str] = {}
    for r in log:
        if r.kind == "decision":
            d = _decision_of(r)
            key = d.get("eventId") or d["id"]
            per_device[r.device_id or ""].append((key, d["status"]))
            by_id[r.item_id] = key
    calls = sorted(by_id[row.item_key] for row in await store.outbox_rows(s.destination, 10_000))
    counts = {
        "server": await store.conversion_counts(s.server_campaign, DAY, DAY),
        "device": await store.conversion_counts(s.device_campaign, DAY, DAY),
    }
    stats = {
        c: (await store.campaign_stats(c)).decisions for c in (s.server_campaign, s.device_campaign)
    }
    return {"decisions": dict(per_device), "calls": calls, "counts": counts, "stats": stats}


def _sorted(counts: tuple[list[Any], list[Any]]) -> tuple[list[Any], list[Any]]:
    return sorted(counts[0], key=str), sorted(counts[1], key=str)


async def _on_sqlite(tmp_path: Path, limit: int, phases: Any) -> dict[str, Any]:
    path = tmp_path / "single.db"
    store = await Backend("sqlite", f"sqlite:///{path}", path=path).open()
    try:
        s = await _setup(store, limit)
        runner = _consumers(store)
        for phase in phases:
            await phase(store, s)
            await runner.run_until_idle()
        return await _outcome(store, s)
    finally:
        await store.close()


async def _on_jetstream(js: Backend, limit: int, phases: Any) -> tuple[dict[str, Any], Store]:
    one, two = await js.open(), await js.open()
    assert one.partitions == PARTITIONS
    s = await _setup(one, limit)
    first, second = _consumers(one), _consumers(two)
    await first.start()
    await second.start()
    try:
        for phase in phases:
            await phase(one, s)
            await _wait_settled(one)
    finally:
        await first.stop()
        await second.stop()
        await two.close()
    return await _outcome(one, s), one


def test_two_runners_over_partitions_give_every_device_what_sqlite_gives(
    js_backend: Backend, tmp_path: Path
) -> None:
    async def go() -> None:
        phases = [_first_phase, _second_phase]
        single = await _on_sqlite(tmp_path, 2, phases)
        spread, store = await _on_jetstream(js_backend, 2, phases)
        try:
            # The scenario means something: two calls per anonymous device, one per user,
            # the third sign-up capped; conversions of both kinds of decision.
            anon = single["decisions"]["anon-0"]
            assert [status for _, status in anon] == ["SUCCESS", "SUCCESS", "CAMPAIGN_CAP"]
            assert len(single["calls"]) == 2 * len(ANONYMOUS) + len(USERS)
            assert single["counts"]["server"][1] == [(DAY, "0", 0, 30, 0)]
            assert sorted(single["counts"]["device"][1], key=str) == [
                (DAY, "0", 0, 4, 2),
                (DAY, None, 0, 2, 1),
            ]
            assert sorted(sorted(x.items()) for x in single["stats"].values()) == [
                [("CAMPAIGN_CAP", 12), ("SUCCESS", 30)],
                [("HOLDOUT", 2), ("SUCCESS", 4)],
            ]

            assert spread["decisions"] == single["decisions"]
            assert spread["calls"] == single["calls"]
            assert list(spread["stats"].values()) == list(single["stats"].values())
            for kind in ("server", "device"):
                assert _sorted(spread["counts"][kind]) == _sorted(single["counts"][kind])

            # Each decision is in its device's partition, after the event that triggered it,
            # and the control plane's own log holds nothing.
            log = await store.read_log(0, 100_000)
            seq_of = {r.item_id: r.seq for r in log if r.kind == "event"}
            for r in log:
                if r.kind != "decision" or _decision_of(r).get("source") is None:
                    continue
                device = r.device_id or ""
                assert partition_of(r.app_id, partition_key(r.device_id, r.user_id), 4) == (
                    partition_of(r.app_id, partition_key(device, None), 4)
                )
                assert r.seq > seq_of[_decision_of(r)["eventId"]]
            assert await store.control.read_log(0) == []  # type: ignore[attr-defined]
        finally:
            await store.close()

    run(go())


def _two_partitions(app_id: str, user: int) -> tuple[str, str]:
    """Two device ids of one user whose records are in different partitions."""
    first = f"xa-{user}"
    home = partition_of(app_id, first, PARTITIONS)
    n = 0
    while partition_of(app_id, f"xb-{user}-{n}", PARTITIONS) == home:
        n += 1
    return first, f"xb-{user}-{n}"


def test_a_user_on_devices_in_two_partitions_keeps_one_state(
    js_backend: Backend, tmp_path: Path
) -> None:
    users = range(10)

    async def sign_ups(store: Store, s: Setup) -> None:
        pairs = {u: _two_partitions(s.app_id, u) for u in users}
        uploads = [
            _upload(
                store,
                s.app_id,
                device,
                f"x-{u}",
                [_event(f"{device}-s{r}", "Signed Up", T0 + r)],
            )
            for r in range(2)
            for u in users
            for device in pairs[u]
        ]
        await asyncio.gather(*uploads)

    async def go() -> None:
        single = await _on_sqlite(tmp_path, 2, [sign_ups])
        spread, store = await _on_jetstream(js_backend, 2, [sign_ups])
        await store.close()
        for outcome in (single, spread):
            per_user: dict[str, list[str]] = defaultdict(list)
            for device, made in outcome["decisions"].items():
                user = device.split("-")[1]
                per_user[user] += [status for _, status in made]
            # Four sign-ups per user over two devices: the per-person limit of two holds.
            assert {u: sorted(x) for u, x in per_user.items()} == {
                str(u): ["CAMPAIGN_CAP", "CAMPAIGN_CAP", "SUCCESS", "SUCCESS"] for u in users
            }
            assert len(outcome["calls"]) == 2 * len(users)

    run(go())
