"""The admin API: auth, projects, apps and keys, the campaign state machine, catalogs, stats."""

from __future__ import annotations

import re
from typing import Any

import pytest
from server_support import Harness, event, upload_body

pytestmark = pytest.mark.anyio


def campaign(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Welcome offer",
        "type": "DeepLink",
        "triggering": {
            "event": {"name": "PurchaseCompleted", "type": "custom", "params": []},
            "repeat": {"repeatType": "every", "repeatEntity": "event", "repeatValue": [1]},
            "limit": {},
        },
        "targeting": [],
        "content": {"url": "myapp://promo"},
    }
    body.update(overrides)
    return body


async def test_admin_routes_need_an_admin_token(sq: Harness) -> None:
    c = sq.client
    assert (await c.get("/admin/api/projects")).status_code == 401
    for wrong in (
        f"Bearer {sq.app['writeKey']}",
        f"Bearer {sq.app['apiKeyPublic']}",
        f"Bearer {sq.app['apiKeySecret']}",
        f"Bearer {sq.project['dataImportKey']}",
        f"Basic {sq.admin_token}",
        "Bearer ",
    ):
        r = await c.get("/admin/api/projects", headers={"Authorization": wrong})
        assert r.status_code == 401, wrong
        assert r.json()["error"]["message"].startswith("Authorization")
    await sq.store.revoke_admin_token(sq.admin_token)
    assert (await c.get("/admin/api/projects", headers=sq.admin)).status_code == 401


async def test_projects_and_settings(srv: Harness) -> None:
    c, h = srv.client, srv.admin
    r = await c.get("/admin/api/projects", headers=h)
    assert [p["name"] for p in r.json()["items"]] == ["Acme"]
    assert "dataImportKey" not in r.json()["items"][0]
    pid = srv.project["id"]
    r = await c.patch(
        f"/admin/api/projects/{pid}",
        json={"settings": {"sessionTimeoutSeconds": 90, "frequencyCapping": {"perSession": 2}}},
        headers=h,
    )
    assert r.status_code == 200, r.text
    assert r.json()["settings"] == {
        "sessionTimeoutSeconds": 90,
        "frequencyCapping": {"perSession": 2},
        "configRefreshSeconds": 300,
        "deepLinkSchemes": None,
    }
    r = await c.patch(f"/admin/api/projects/{pid}", json={"configRefreshSeconds": 60}, headers=h)
    assert r.json()["settings"]["configRefreshSeconds"] == 60
    assert r.json()["settings"]["sessionTimeoutSeconds"] == 90
    assert (await c.get(f"/admin/api/projects/{pid}", headers=h)).json()["settings"][
        "configRefreshSeconds"
    ] == 60
    for bad, field in (
        ({"settings": {"sessionTimeoutSeconds": "90"}}, "settings.sessionTimeoutSeconds"),
        ({"settings": {"sessionTimeoutSeconds": 0}}, "settings.sessionTimeoutSeconds"),
        ({"settings": {"frequencyCapping": {"perHour": 1}}}, "settings.frequencyCapping.perHour"),
        ({"settings": {"frequencyCapping": 3}}, "settings.frequencyCapping"),
        ({"settings": []}, "settings"),
        ({"colour": "red"}, "colour"),
    ):
        r = await c.patch(f"/admin/api/projects/{pid}", json=bad, headers=h)
        assert r.status_code == 400, bad
        assert r.json()["error"]["message"].startswith(field), r.text
    assert (await c.get("/admin/api/projects/nope", headers=h)).status_code == 404
    r = await c.post("/admin/api/projects", json={"name": ""}, headers=h)
    assert r.status_code == 400
    assert r.json()["error"]["message"].startswith("name")


async def test_the_stream_account_id_is_a_project_setting(srv: Harness) -> None:
    """``awsAccountId`` (of the project's campaign stream records) defaults to the project id,
    is set and reset by PATCH, and is never served to devices."""
    c, h = srv.client, srv.admin
    pid = srv.project["id"]
    project = (await c.get(f"/admin/api/projects/{pid}", headers=h)).json()
    assert (project["awsAccountId"], "awsAccountId" in project["settings"]) == (pid, False)
    r = await c.patch(
        f"/admin/api/projects/{pid}", json={"awsAccountId": "123456789012"}, headers=h
    )
    assert r.status_code == 200, r.text
    assert r.json()["awsAccountId"] == r.json()["settings"]["awsAccountId"] == "123456789012"
    manifest = await c.get("/api/v1/config", headers={"X-Api-Key": srv.app["apiKeyPublic"]})
    assert "awsAccountId" not in manifest.json()["settings"]
    r = await c.patch(
        f"/admin/api/projects/{pid}", json={"settings": {"awsAccountId": None}}, headers=h
    )
    assert r.json()["awsAccountId"] == pid
    for bad in ("", 12, "x" * 65):
        r = await c.patch(f"/admin/api/projects/{pid}", json={"awsAccountId": bad}, headers=h)
        assert r.status_code == 400, bad
        assert r.json()["error"]["message"].startswith("awsAccountId"), r.text


async def test_apps_and_credentials(srv: Harness) -> None:
    c, h = srv.client, srv.admin
    pid = srv.project["id"]
    created = await srv.new_app("Acme Android")
    assert set(created) == {"appId", "apiKeyPublic", "apiKeySecret", "writeKey"}
    r = await c.get(f"/admin/api/projects/{pid}/apps", headers=h)
    listed = r.json()["items"]
    assert [a["name"] for a in listed] == ["Acme iOS", "Acme Android"]
    assert all("apiKeySecret" not in a and "writeKey" not in a for a in listed)
    r = await c.post(f"/admin/api/projects/{pid}/apps", json={"name": "x"}, headers=h)
    assert r.status_code == 400
    assert r.json()["error"]["message"].startswith("platform")
    r = await c.post(
        "/admin/api/projects/nope/apps", json={"name": "x", "platform": "ios"}, headers=h
    )
    assert r.status_code == 404
    keys = (await c.get(f"/admin/api/apps/{srv.app_id}/keys", headers=h)).json()["items"]
    assert [k["apiKeyPublic"] for k in keys] == [srv.app["apiKeyPublic"]]
    assert all("apiKeySecret" not in k for k in keys)


async def test_campaign_state_machine(srv: Harness) -> None:
    c, h = srv.client, srv.admin
    r = await c.post(f"/admin/api/apps/{srv.app_id}/campaigns", json=campaign(), headers=h)
    assert r.status_code == 201, r.text
    created = r.json()
    cid = created["id"]
    assert created["state"] == "Draft"
    assert created["createdAt"] > 0

    async def move(state: str) -> int:
        resp = await c.post(f"/admin/api/campaigns/{cid}/state", json={"state": state}, headers=h)
        return resp.status_code

    assert await move("Cancel") == 409  # Draft → Cancel is not a transition
    assert await move("Draft") == 400  # nothing moves back to Draft
    assert await move("Active") == 200
    assert (await c.delete(f"/admin/api/campaigns/{cid}", headers=h)).status_code == 409
    assert await move("Active") == 200  # already there: a no-op
    assert await move("Cancel") == 200
    assert await move("Active") == 200
    assert await move("Cancel") == 200
    r = await c.get(f"/admin/api/apps/{srv.app_id}/campaigns?state=Cancel", headers=h)
    assert [x["id"] for x in r.json()["items"]] == [cid]
    r = await c.get(f"/admin/api/apps/{srv.app_id}/campaigns?state=Active", headers=h)
    assert r.json() == {"items": [], "next": None}
    r = await c.get(f"/admin/api/apps/{srv.app_id}/campaigns?state=Paused", headers=h)
    assert r.status_code == 400
    assert (await c.delete(f"/admin/api/campaigns/{cid}", headers=h)).status_code == 200
    assert (await c.get(f"/admin/api/campaigns/{cid}", headers=h)).status_code == 404
    assert await move("Active") == 404


async def test_campaign_create_with_state_and_replace(srv: Harness) -> None:
    c, h = srv.client, srv.admin
    r = await c.post(
        f"/admin/api/apps/{srv.app_id}/campaigns", json=campaign(state="Active"), headers=h
    )
    assert r.json()["state"] == "Active"
    cid = r.json()["id"]
    r = await c.put(f"/admin/api/campaigns/{cid}", json=campaign(name="Renamed"), headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "Renamed"
    assert r.json()["state"] == "Active"
    r = await c.put(f"/admin/api/campaigns/{cid}", json=campaign(state="Draft"), headers=h)
    assert r.status_code == 409
    r = await c.put(f"/admin/api/campaigns/{cid}", json=campaign(id="other"), headers=h)
    assert r.status_code == 400
    r = await c.post(f"/admin/api/apps/{srv.app_id}/campaigns", json=campaign(id=cid), headers=h)
    assert r.status_code == 409


async def test_put_with_if_match_refuses_a_stale_version(srv: Harness) -> None:
    c, h = srv.client, srv.admin
    r = await c.post(f"/admin/api/apps/{srv.app_id}/campaigns", json=campaign(), headers=h)
    cid = r.json()["id"]
    read = await c.get(f"/admin/api/campaigns/{cid}", headers=h)
    tag = read.headers["ETag"]
    assert re.fullmatch(r'"[0-9a-f]{20}"', tag)
    # Someone else saves first: the campaign's version changes.
    first = await c.put(
        f"/admin/api/campaigns/{cid}", json=campaign(name="Theirs"), headers={**h, "If-Match": tag}
    )
    assert first.status_code == 200, first.text
    assert first.headers["ETag"] != tag
    stale = await c.put(
        f"/admin/api/campaigns/{cid}", json=campaign(name="Mine"), headers={**h, "If-Match": tag}
    )
    assert stale.status_code == 412
    assert stale.json()["error"]["code"] == "campaign_changed"
    assert stale.headers["ETag"] == first.headers["ETag"]
    assert (await c.get(f"/admin/api/campaigns/{cid}", headers=h)).json()["name"] == "Theirs"
    # With the current tag (weak form accepted) or "*", the write goes through.
    fresh = await c.put(
        f"/admin/api/campaigns/{cid}",
        json=campaign(name="Mine"),
        headers={**h, "If-Match": "W/" + first.headers["ETag"]},
    )
    assert fresh.status_code == 200 and fresh.json()["name"] == "Mine"
    star = await c.put(
        f"/admin/api/campaigns/{cid}", json=campaign(name="Any"), headers={**h, "If-Match": "*"}
    )
    assert star.status_code == 200
    # A state change is a change too: a tag read before a start is stale after it.
    before = star.headers["ETag"]
    await c.post(f"/admin/api/campaigns/{cid}/state", json={"state": "Active"}, headers=h)
    r = await c.put(
        f"/admin/api/campaigns/{cid}", json=campaign(name="X"), headers={**h, "If-Match": before}
    )
    assert r.status_code == 412


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"type": "Popup"}, "type"),
        ({"content": None}, "content"),
        (
            {
                "triggering": {
                    "event": {"name": "X", "type": "custom"},
                    "repeat": {"repeatType": "every", "repeatEntity": "event", "repeatValue": [0]},
                }
            },
            "triggering.repeat.repeatValue[0]",
        ),
        (
            {
                "targeting": [
                    {
                        "country": {"type": "include", "values": ["PL"]},
                        "osVersion": {"compareType": "equal", "value": "1"},
                    }
                ]
            },
            "targeting[0]",
        ),
        ({"state": "Paused"}, "state"),
        ({"id": 5}, "id"),
    ],
)
async def test_invalid_campaigns_are_400_naming_the_path(
    sq: Harness, patch: dict[str, Any], field: str
) -> None:
    r = await sq.client.post(
        f"/admin/api/apps/{sq.app_id}/campaigns", json=campaign(**patch), headers=sq.admin
    )
    assert r.status_code == 400, r.text
    assert r.json()["error"]["message"].startswith(field), r.text


async def test_an_invalid_campaign_lists_every_problem_with_its_path(sq: Harness) -> None:
    bad = campaign(
        type="Popup",
        priority="high",
        state=None,
        targeting=[{"country": {"type": "include", "values": ["PL"]}}, {"nothing": {}}],
        holdoutPercent=150,
    )
    bad["triggering"]["repeat"]["repeatValue"] = [0]
    r = await sq.client.post(f"/admin/api/apps/{sq.app_id}/campaigns", json=bad, headers=sq.admin)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["code"] == "invalid_campaign"
    assert (
        error["message"]
        == "type: must be one of DeepLink, RateReview, Webhook (and 4 more problems)"
    )
    assert [e["path"] for e in error["errors"]] == [
        "type",
        "priority",
        "triggering.repeat.repeatValue[0]",
        "targeting[1]",
        "holdoutPercent",
    ]
    assert error["errors"][3]["message"].startswith("must set exactly one of")
    # The same document without an id is valid once fixed: the server assigns the id.
    good = campaign(state=None)
    r = await sq.client.post(f"/admin/api/apps/{sq.app_id}/campaigns", json=good, headers=sq.admin)
    assert r.status_code == 201, r.text
    assert r.json()["state"] == "Draft" and r.json()["id"]
    r = await sq.client.put(
        f"/admin/api/campaigns/{r.json()['id']}", json=campaign(content={}), headers=sq.admin
    )
    assert r.status_code == 400
    assert r.json()["error"]["errors"] == [
        {
            "path": "content.url",
            "message": "is required for a DeepLink campaign (a non-empty string)",
        }
    ]


async def test_catalogs_recent_events_and_stats(srv: Harness) -> None:
    c, h = srv.client, srv.admin
    r = await c.post(f"/admin/api/apps/{srv.app_id}/campaigns", json=campaign(id="c-9"), headers=h)
    assert r.status_code == 201, r.text
    shown = event(
        "e-2",
        type="system",
        name="CampaignShown",
        properties={"source": "PurchaseCompleted", "campaignId": "c-9"},
    )
    resolved = event(
        "e-3",
        type="system",
        name="CampaignResolved",
        properties={"campaignId": "c-9", "result": "Unavailable", "unavailableReason": "TimedOut"},
    )
    decision = {
        "id": "d-1",
        "campaignId": "c-9",
        "status": "SUCCESS",
        "treatmentId": "0",
        "source": "PurchaseCompleted",
        "eventId": "e-1",
        "timestamp": 1_700_000_000_000,
    }
    r = await srv.upload(
        upload_body(srv.app_id, [event("e-1"), shown, resolved], decisions=[decision])
    )
    assert r.json()["accepted"] == 3

    catalog = (await c.get(f"/admin/api/apps/{srv.app_id}/events", headers=h)).json()["items"]
    by_name = {e["name"]: e for e in catalog}
    assert by_name["PurchaseCompleted"]["count"] == 1
    assert by_name["PurchaseCompleted"]["type"] == "custom"
    assert by_name["SdkInitialized"]["count"] == 0  # system events are always listed
    props = (await c.get(f"/admin/api/apps/{srv.app_id}/properties", headers=h)).json()["items"]
    assert {"key": "plan", "type": "string"} in props
    assert {"key": "age", "type": "number"} in props

    recent = (await c.get(f"/admin/api/apps/{srv.app_id}/events/recent?limit=2", headers=h)).json()[
        "items"
    ]
    assert len(recent) == 2
    assert recent[0]["payload"]["event"]["id"] in {"e-2", "e-3"}
    for bad in ("0", "abc", "5000", "-1"):
        r = await c.get(f"/admin/api/apps/{srv.app_id}/events/recent?limit={bad}", headers=h)
        assert r.status_code == 400
        assert r.json()["error"]["message"].startswith("limit")

    stats = (await c.get("/admin/api/campaigns/c-9/stats", headers=h)).json()
    assert stats["decisions"] == {"SUCCESS": 1}
    assert stats["shown"] == 1
    assert stats["resolved"] == {"Unavailable": 1}
    assert stats["unavailableReasons"] == {"TimedOut": 1}
    assert len(stats["byDay"]) == 1
    assert (await c.get("/admin/api/campaigns/zzz/stats", headers=h)).status_code == 404
    assert (await c.get("/admin/api/apps/zzz/events", headers=h)).status_code == 404


async def test_destinations_and_streams(sq: Harness) -> None:
    c, h = sq.client, sq.admin
    body = {
        "kind": "amplitude",
        "appIds": [sq.app_id],
        "settings": {"apiKey": "k"},
        "subscriptions": [],
    }
    r = await c.post("/admin/api/destinations", json=body, headers=h)
    assert r.status_code == 201, r.text
    did = r.json()["id"]
    assert (await c.get(f"/admin/api/destinations/{did}", headers=h)).json()["kind"] == "amplitude"
    r = await c.put(
        f"/admin/api/destinations/{did}", json={**body, "kind": "amplitude-currents"}, headers=h
    )
    assert r.json()["kind"] == "amplitude-currents"
    for bad, field in (
        ({**body, "kind": "mixpanel"}, "kind"),
        ({**body, "appIds": ["nope"]}, "appIds[0]"),
        ({**body, "settings": {"apiKey": 5}}, "settings.apiKey"),
        ({**body, "subscriptions": [1]}, "subscriptions[0]"),
        ({**body, "subscriptions": [{"action": "fly"}]}, "subscriptions[0].action"),
        (
            {**body, "subscriptions": [{"action": "logEvent", "trigger": "type = "}]},
            "subscriptions[0]",
        ),
        ({**body, "kind": "amplitude-currents", "settings": {"prefix": ""}}, "settings.prefix"),
    ):
        r = await c.post("/admin/api/destinations", json=bad, headers=h)
        assert r.status_code == 400
        assert r.json()["error"]["message"].startswith(field), r.text

    from tidings.storage import DeadLetterIn

    item = b'{"api": "httpapi", "event": {"event_type": "E", "device_id": "d-12345"}}'
    dead = [DeadLetterIn(f"ev-{n}", 1, "invalid field time", item) for n in (1, 2)]
    await sq.store.enqueue(did, [], dead)
    r = await c.get(f"/admin/api/destinations/{did}/dead-letters", headers=h)
    letters = r.json()["items"]
    assert [(d["itemKey"], d["reason"]) for d in letters] == [
        ("ev-1", "invalid field time"),
        ("ev-2", "invalid field time"),
    ]
    r = await c.post(
        f"/admin/api/destinations/{did}/dead-letters/retry",
        json={"ids": [letters[0]["id"]]},
        headers=h,
    )
    assert r.json() == {"retried": 1}
    assert await sq.store.outbox_size(did) == 1
    r = await c.post(f"/admin/api/destinations/{did}/dead-letters/discard", headers=h)
    assert r.json() == {"discarded": 1}
    r = await c.post(f"/admin/api/destinations/{did}/replay", json={"from": 10, "to": 5}, headers=h)
    assert r.status_code == 400
    r = await c.post(f"/admin/api/destinations/{did}/replay", json={"from": 1, "to": 5}, headers=h)
    assert r.status_code == 202
    assert len(await sq.store.list_documents(f"replays:{did}")) == 1
    assert (await c.delete(f"/admin/api/destinations/{did}", headers=h)).status_code == 200
    assert (await c.get(f"/admin/api/destinations/{did}", headers=h)).status_code == 404

    r = await c.post(
        "/admin/api/streams",
        json={
            "kind": "webhook",
            "appIds": [sq.app_id],
            "settings": {"url": "http://127.0.0.1:9/x"},
        },
        headers=h,
    )
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    r = await c.post(
        "/admin/api/streams", json={"kind": "webhook", "appIds": [sq.app_id]}, headers=h
    )
    assert r.json()["error"]["message"].startswith("settings.url")
    assert [s["id"] for s in (await c.get("/admin/api/streams", headers=h)).json()["items"]] == [
        sid
    ]
    assert (await c.delete(f"/admin/api/streams/{sid}", headers=h)).status_code == 200


async def test_both_destination_trees_configure_one_instance_alike(sq: Harness) -> None:
    """``/admin/api/destinations`` (the contract's) and ``/admin/api/apps/{app}/destinations``
    store the same instance the same way: a new one starts at the end of the log (it gets what
    arrives from now on), and replacing one keeps its pause state."""
    from tidings.pipeline.delivery import cursor_name, set_paused

    c, h = sq.client, sq.admin
    r = await sq.upload(upload_body(sq.app_id, [event("before-1"), event("before-2")]))
    assert r.status_code == 200
    body = {"kind": "amplitude", "appIds": [sq.app_id], "settings": {"apiKey": "k"}}
    r = await c.post("/admin/api/destinations", json=body, headers=h)
    assert r.status_code == 201, r.text
    created = r.json()
    assert await sq.store.get_cursor(cursor_name(created["id"])) == await sq.store.last_seq()
    per_app = (await c.get(f"/admin/api/apps/{sq.app_id}/destinations", headers=h)).json()["items"]
    assert [d["id"] for d in per_app] == [created["id"]]
    assert per_app[0]["paused"] is None and created["paused"] is None

    await set_paused(sq.store, created["id"], "paused by an operator", 1)
    r = await c.put(
        f"/admin/api/destinations/{created['id']}",
        json={**body, "settings": {"apiKey": "k2", "endpoint": "europe"}},
        headers=h,
    )
    assert r.status_code == 200, r.text
    assert r.json()["paused"] == {"reason": "paused by an operator", "at": 1}
    assert r.json()["settings"] == {"apiKey": "k2", "endpoint": "europe"}
    r = await c.put("/admin/api/destinations/dst_nope", json=body, headers=h)
    assert (r.status_code, r.json()["error"]["code"]) == (404, "destination_not_found")


async def test_cohort_rules_must_name_cohorts_of_the_project(srv: Harness) -> None:
    c, h = srv.client, srv.admin
    await srv.store.upsert_cohort(srv.project["id"], "vip", "VIP")
    bad = campaign(targeting=[{"cohort": {"type": "include", "values": ["vip", "nope"]}}])
    r = await c.post(f"/admin/api/apps/{srv.app_id}/campaigns", json=bad, headers=h)
    assert r.status_code == 400
    assert r.json()["error"]["errors"] == [
        {
            "path": "targeting[0].cohort.values[1]",
            "message": "no cohort 'nope' in this project (import it first)",
        }
    ]
    good = campaign(targeting=[{"cohort": {"type": "include", "values": ["vip"]}}])
    r = await c.post(f"/admin/api/apps/{srv.app_id}/campaigns", json=good, headers=h)
    assert r.status_code == 201, r.text
