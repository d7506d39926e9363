"""The admin API of an app's Amplitude destinations, with delivery running behind it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from amplitude_standin import Standin
from pipeline_support import FAST, T0, log_events
from storage_support import Backend, run

sys.path.insert(0, str(Path(__file__).parent.parent / "server"))
from server_support import harness

from tidings.pipeline import PipelineRunner
from tidings.pipeline.delivery import (
    Deliveries,
    InstanceSender,
    get_instance,
    run_pending_replays,
)


def test_instances_dead_letters_and_replay_through_the_admin_api(
    sql_backend: Backend, amp: Standin
) -> None:
    async def main() -> None:
        async with harness(sql_backend.url) as h:
            base = f"/admin/api/apps/{h.app_id}/destinations"
            settings = {"apiKey": "test-key", "endpoint": "europe", "baseUrl": amp.url}
            r = await h.client.post(
                base, json={"name": "EU", "settings": settings}, headers=h.admin
            )
            assert r.status_code == 201, r.text
            created = r.json()
            dst = created["id"]
            assert created["paused"] is None and created["appIds"] == [h.app_id]

            bad = await h.client.post(
                base, json={"settings": {"endpoint": "mars"}}, headers=h.admin
            )
            assert bad.status_code == 400 and "settings.endpoint" in bad.text
            too_many = await h.client.post(base, json={"subscriptions": [{}] * 51}, headers=h.admin)
            assert too_many.status_code == 400 and "subscriptions" in too_many.text

            listed = (await h.client.get(base, headers=h.admin)).json()["items"]
            assert [d["id"] for d in listed] == [dst]
            r = await h.client.patch(f"{base}/{dst}", json={"name": "EU 2"}, headers=h.admin)
            assert r.json()["name"] == "EU 2" and r.json()["settings"]["apiKey"] == "test-key"
            r = await h.client.post(f"{base}/{dst}/pause", headers=h.admin)
            assert r.json()["paused"]["reason"] == "paused by an operator"
            r = await h.client.post(f"{base}/{dst}/resume", headers=h.admin)
            assert r.json()["paused"] is None

            # Events to deliver: two with a device id Amplitude refuses.
            ids = await log_events(h.store, h.app_id, 6, devices=3)
            from pipeline_support import sdk_event

            await h.store.ingest(
                h.app_id,
                [sdk_event(f"bad-{i}", "null", app_id=h.app_id) for i in range(2)],
                arrival_ms=T0,
            )
            await PipelineRunner(
                h.store, consumers=[], providers=[Deliveries().consumers]
            ).run_until_idle()
            instance = await get_instance(h.store, dst)
            sender = InstanceSender(h.store, instance, FAST)
            await sender.drain()
            assert sorted(e["insert_id"] for e in amp.accepted) == ids

            letters: list[dict[str, Any]] = (
                await h.client.get(f"{base}/{dst}/dead-letters", headers=h.admin)
            ).json()["items"]
            assert len(letters) == 2
            assert {d["reason"] for d in letters} == {"invalid field device_id"}
            assert letters[0]["response"]["status"] == 400
            assert letters[0]["request"]["url"].endswith("/2/httpapi")

            r = await h.client.post(
                f"{base}/{dst}/dead-letters/retry",
                json={"ids": [letters[0]["id"]]},
                headers=h.admin,
            )
            assert r.json() == {"retried": 1}
            assert (await h.client.get(f"{base}/{dst}", headers=h.admin)).json()["outbox"] == 1
            await sender.drain()  # refused again: back in the dead letters, with its reason
            again = (await h.client.get(f"{base}/{dst}/dead-letters", headers=h.admin)).json()[
                "items"
            ]
            assert len(again) == 2
            r = await h.client.post(f"{base}/{dst}/dead-letters/discard", headers=h.admin)
            assert r.json() == {"discarded": 2}

            r = await h.client.post(
                f"{base}/{dst}/replay",
                json={"from": "2025-11-28T03:20:00Z", "to": T0 + 3},
                headers=h.admin,
            )
            assert r.status_code == 202 and r.json()["status"] == "pending"
            bad_range = await h.client.post(
                f"{base}/{dst}/replay", json={"from": T0, "to": T0}, headers=h.admin
            )
            assert bad_range.status_code == 400

            # The sender runs pending replay requests before sending.
            assert await run_pending_replays(h.store, instance) == 1
            await sender.drain()
            sender.close()
            assert amp.state.received == 6 + 3

            other = await h.new_app()
            r = await h.client.get(
                f"/admin/api/apps/{other['appId']}/destinations/{dst}", headers=h.admin
            )
            assert r.status_code == 404
            r = await h.client.delete(f"{base}/{dst}", headers=h.admin)
            assert r.json() == {"id": dst, "deleted": True}
            assert (await h.client.get(base, headers=h.admin)).json()["items"] == []

    run(main())
