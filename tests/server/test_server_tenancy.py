"""A token limited to project B can neither read nor change project A: every admin route is tried
with A's ids, and A is checked untouched afterwards. The sweep walks the server's own route
table, so a route added later without a scope check fails here."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from server_support import Harness
from tenant_support import Tenants, campaign_body, two_tenants

from tidings.server.app import ROUTES
from tidings.server.openapi import RouteDoc

pytestmark = [pytest.mark.anyio, pytest.mark.reliability]

ADMIN_ROUTES = [doc for doc, _ in ROUTES if doc.auth == "adminToken"]
_PARAM = re.compile(r"{([a-z_]+)}")


def concrete(doc: RouteDoc, t: Tenants) -> str:
    """The route's path with project A's ids in it."""
    values = t.path_values()
    if doc.path.startswith("/admin/api/destinations"):
        values["id"] = t.a_global_destination
    elif "/destinations" in doc.path:
        values["id"] = t.a_destination
    elif "/streams" in doc.path:
        values["id"] = t.a_sink
    return _PARAM.sub(lambda m: values[m.group(1)], doc.path)


def body_for(doc: RouteDoc, t: Tenants, directory: Path) -> dict[str, Any] | None:
    """A request body that would be accepted for project A's admin."""
    if not doc.has_body:
        return None
    path = doc.path
    if path.endswith("/state"):
        return {"state": "Cancel"}
    if path.endswith("/replay"):
        return {"from": 0, "to": 1}
    if "/campaigns" in path:
        return campaign_body(name="Taken over")
    if path.endswith("/apps"):
        return {"name": "Intruder", "platform": "ios"}
    if path == "/admin/api/destinations" or path.startswith("/admin/api/destinations/{id}"):
        if path.endswith(("{id}", "/destinations")):
            return {"kind": "amplitude", "appIds": [t.a_app], "settings": {"apiKey": "stolen"}}
        return {}
    if "/destinations" in path:
        return {"kind": "amplitude", "settings": {"apiKey": "stolen"}}
    if "/streams" in path and path.endswith("/streams"):
        body: dict[str, Any] = {"kind": "jsonl", "settings": {"directory": str(directory / "x")}}
        if path == "/admin/api/streams":
            body["appIds"] = [t.a_app]
        return body
    if path == "/admin/api/projects/{project_id}":
        return {"settings": {"sessionTimeoutSeconds": 5}}
    if path.endswith(("/projects", "/tokens")):
        return {"name": "Intruder"}
    return {}


A_IDS = ("a_project", "a_app", "a_campaign", "a_destination", "a_global_destination", "a_sink")


async def test_a_project_scoped_token_cannot_reach_another_project(
    srv: Harness, tmp_path: Path
) -> None:
    t = await two_tenants(srv, tmp_path)
    before = await _snapshot(srv, t)
    answered: dict[str, int] = {}
    for doc in ADMIN_ROUTES:
        path = concrete(doc, t)
        r = await srv.client.request(
            doc.method, path, json=body_for(doc, t, tmp_path), headers=t.b_headers()
        )
        where = f"{doc.method} {path}"
        answered[where] = r.status_code
        assert r.status_code < 500, (where, r.text)
        if _PARAM.search(doc.path):
            # Anything naming A is a 404 (as if it did not exist); token routes are 403.
            expected = 403 if doc.path.startswith("/admin/api/tokens") else 404
            assert r.status_code == expected, (where, r.text)
        elif doc.method == "GET":
            # Listings answer, but with nothing of A's.
            expected = 403 if doc.path == "/admin/api/tokens" else 200
            assert r.status_code == expected, (where, r.text)
            for name in A_IDS:
                assert getattr(t, name) not in r.text, (where, name)
        else:
            assert r.status_code in (400, 403), (where, r.text)
            if r.status_code == 400:
                assert r.json()["error"]["message"].startswith("appIds[0]: no app"), where
    assert len(answered) == len(ADMIN_ROUTES)
    assert await _snapshot(srv, t) == before

    r = await srv.client.get(f"/admin/api/cohorts?projectId={t.a_project}", headers=t.b_headers())
    assert r.status_code == 404
    r = await srv.client.get("/admin/api/cohorts", headers=t.b_headers())
    assert r.json() == {"items": [], "next": None}


async def test_the_same_reads_answer_for_a_token_of_that_project(
    srv: Harness, tmp_path: Path
) -> None:
    """The control: each read the scoped token was refused is served to project A's own tokens,
    so the 404s above come from the scope, not from a wrong path."""
    t = await two_tenants(srv, tmp_path)
    scoped_a = await srv.store.issue_admin_token("alpha only", project_ids=[t.a_project])
    for token in (srv.admin_token, scoped_a.token):
        for doc in ADMIN_ROUTES:
            if doc.method != "GET" or doc.path.startswith("/admin/api/tokens"):
                continue
            path = concrete(doc, t)
            r = await srv.client.get(path, headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 200, (path, r.text)
    r = await srv.client.get(
        "/admin/api/projects", headers={"Authorization": f"Bearer {scoped_a.token}"}
    )
    assert [p["id"] for p in r.json()["items"]] == [t.a_project]


async def test_a_scoped_token_works_inside_its_project(srv: Harness, tmp_path: Path) -> None:
    t = await two_tenants(srv, tmp_path)
    c, b = srv.client, t.b_headers()
    r = await c.get("/admin/api/projects", headers=b)
    assert [p["id"] for p in r.json()["items"]] == [t.b_project]
    r = await c.post(f"/admin/api/apps/{t.b_app}/campaigns", json=campaign_body(), headers=b)
    assert r.status_code == 201, r.text
    r = await c.post(
        "/admin/api/destinations",
        json={"kind": "amplitude", "appIds": [t.b_app, t.a_app], "settings": {"apiKey": "k"}},
        headers=b,
    )
    assert r.status_code == 400 and r.json()["error"]["message"].startswith("appIds[1]")
    r = await c.post(
        "/admin/api/destinations",
        json={"kind": "amplitude", "appIds": [t.b_app], "settings": {"apiKey": "k"}},
        headers=b,
    )
    assert r.status_code == 201, r.text
    r = await c.get("/admin/api/destinations", headers=b)
    assert [d["appIds"] for d in r.json()["items"]] == [[t.b_app]]
    # A destination serving both projects is out of reach for a token of one of them.
    r = await c.put(
        f"/admin/api/destinations/{t.a_global_destination}",
        json={"kind": "amplitude", "appIds": [t.a_app, t.b_app], "settings": {"apiKey": "k"}},
        headers=srv.admin,
    )
    assert r.status_code == 200, r.text
    r = await c.get(f"/admin/api/apps/{t.b_app}/destinations/{t.a_global_destination}", headers=b)
    assert r.status_code == 404
    r = await c.get(f"/admin/api/apps/{t.b_app}/destinations", headers=b)
    assert t.a_global_destination not in r.text


async def _snapshot(h: Harness, t: Tenants) -> dict[str, Any]:
    """Everything of A a scoped token could have changed, read behind the API's back."""
    store = h.store
    campaign = await store.get_campaign(t.a_campaign)
    docs = {
        d.id: dict(d.body)
        for collection in ("destinations", "streams")
        for d in await store.list_documents(collection)
    }
    project = await store.get_project(t.a_project)
    return {
        "campaign": (campaign.state, dict(campaign.body)) if campaign else None,
        "campaigns": [c.id for c in await store.list_campaigns(t.a_app)],
        "stats": (await store.campaign_stats(t.a_campaign)).to_json(),
        "docs": docs,
        "stream_letters": [
            d.id for d in await store.list_documents(f"stream_dead_letters:{t.a_sink}")
        ],
        "keys": [(k.api_key_public, k.revoked_at) for k in await store.list_keys(t.a_app)],
        "write_key": (await store.app_for_write_key(t.a_write_key)) is not None,
        "project": project.settings.to_json() if project else None,
        "projects": [p.id for p in await store.list_projects()],
        "apps": [a.id for a in await store.list_apps()],
        "cohorts": [(c.id, c.name) for c in await store.list_cohorts()],
        "tokens": [(x.id, x.revoked_at) for x in await store.list_admin_tokens()],
        "cursors": await store.list_cursors(),
        "recent": [r.item_id for r in await store.recent_events(t.a_app, 100)],
    }
