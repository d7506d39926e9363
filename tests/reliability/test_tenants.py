"""Cross-tenant writes: an app can count decisions and outcomes only for its own project's
campaigns, and campaign ids nobody created make no stats rows."""

from __future__ import annotations

from typing import Any

import pytest
from server_support import T0, Harness, event, upload_body

pytestmark = [pytest.mark.reliability, pytest.mark.anyio]


async def _app_of_new_project(h: Harness, name: str) -> dict[str, Any]:
    r = await h.client.post("/admin/api/projects", json={"name": name}, headers=h.admin)
    assert r.status_code == 201, r.text
    r = await h.client.post(
        f"/admin/api/projects/{r.json()['id']}/apps",
        json={"name": f"{name} app", "platform": "ios"},
        headers=h.admin,
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def _campaign_items(campaign_ids: list[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    events: list[dict[str, Any]] = [event("plain")]
    decisions: list[dict[str, Any]] = []
    for n, cid in enumerate(campaign_ids):
        events.append(
            event(f"shown-{n}", type="system", name="CampaignShown", properties={"campaignId": cid})
        )
        events.append(
            event(
                f"resolved-{n}",
                type="system",
                name="CampaignResolved",
                properties={"campaignId": cid, "result": "Completed"},
            )
        )
        decisions.append({"id": f"d-{n}", "campaignId": cid, "status": "SUCCESS", "timestamp": T0})
    return events, decisions


async def _stats_rows(h: Harness) -> int:
    engine = h.store.engine  # type: ignore[attr-defined]
    return int(await engine.read(lambda tx: tx.scalar("SELECT COUNT(*) FROM campaign_stats")))


async def test_another_projects_campaign_and_unknown_ids_are_refused(srv: Harness) -> None:
    own = await srv.store.create_campaign(srv.app_id, {"name": "A's campaign"}, "Active")
    intruder = await _app_of_new_project(srv, "Intruder")
    unknown = [f"c-unknown-{n}" for n in range(200)]
    events, decisions = _campaign_items([own.id, *unknown])

    r = await srv.upload(
        upload_body(intruder["appId"], events, decisions=decisions),
        key=intruder["apiKeyPublic"],
        secret=intruder["apiKeySecret"],
    )
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["accepted"] == 1  # the plain event beside them is kept
    assert [x["index"] for x in result["rejected"]] == list(range(1, len(events)))
    first = result["rejected"][0]
    assert first["field"] == "events[1].properties.campaignId"
    assert first["code"] == "invalid_event"
    assert own.id in first["message"] and "project" in first["message"]
    assert [x["field"] for x in result["decisions"]["rejected"]] == [
        f"decisions[{i}].campaignId" for i in range(len(decisions))
    ]
    assert result["decisions"]["accepted"] == 0
    stats = await srv.store.campaign_stats(own.id)
    assert (stats.decisions, stats.shown, dict(stats.resolved)) == ({}, 0, {})
    assert await _stats_rows(srv) == 0

    # The campaign's own project counts them, from any of its apps.
    sibling = await srv.new_app("sibling")
    for app in (srv.app, sibling):
        mine_events, mine_decisions = _campaign_items([own.id])
        for item in (*mine_events, *mine_decisions):
            item["id"] = f"{app['appId']}-{item['id']}"
        r = await srv.upload(
            upload_body(app["appId"], mine_events, decisions=mine_decisions),
            key=app["apiKeyPublic"],
            secret=app["apiKeySecret"],
        )
        assert r.json()["rejected"] == [], r.text
        assert r.json()["decisions"]["accepted"] == 1
    stats = await srv.store.campaign_stats(own.id)
    assert (stats.decisions, stats.shown, dict(stats.resolved)) == (
        {"SUCCESS": 2},
        2,
        {"Completed": 2},
    )
