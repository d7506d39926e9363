"""``/admin/api/tokens``: create (shown once), list without credentials, last use to the minute
without a write per request, expiry, revocation, and what a scoped token may not do."""

from __future__ import annotations

import pytest
from server_support import Harness

pytestmark = pytest.mark.anyio


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_create_list_use_and_revoke(srv: Harness) -> None:
    c, h = srv.client, srv.admin
    pid = srv.project["id"]
    r = await c.post(
        "/admin/api/tokens",
        json={"name": "CI deploys", "expiresAt": "2100-01-01T00:00:00Z", "projectIds": [pid]},
        headers=h,
    )
    assert r.status_code == 201, r.text
    created = r.json()
    token, token_id = created["token"], created["id"]
    assert created["name"] == "CI deploys"
    assert created["expiresAt"] == 4_102_444_800_000
    assert created["projectIds"] == [pid]
    assert created["lastUsedAt"] is None and created["revokedAt"] is None

    r = await c.get("/admin/api/tokens", headers=h)
    listed = r.json()["items"]
    assert [t["name"] for t in listed] == ["tests", "CI deploys"]
    assert token not in r.text and srv.admin_token not in r.text
    assert all("token" not in t for t in listed)

    now_ms = int(srv.clock[0] * 1000)
    assert (await c.get(f"/admin/api/projects/{pid}", headers=bearer(token))).status_code == 200
    r = await c.get(f"/admin/api/tokens/{token_id}", headers=h)
    assert r.json()["lastUsedAt"] == now_ms

    r = await c.delete(f"/admin/api/tokens/{token_id}", headers=h)
    assert r.status_code == 200 and r.json()["revoked"] is True
    assert r.json()["revokedAt"] is not None
    r = await c.get(f"/admin/api/projects/{pid}", headers=bearer(token))
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "invalid_admin_token"
    assert (await c.delete(f"/admin/api/tokens/{token_id}", headers=h)).status_code == 200
    r = await c.delete("/admin/api/tokens/tok_missing", headers=h)
    assert (r.status_code, r.json()["error"]["code"]) == (404, "token_not_found")


async def test_a_token_expires(sq: Harness) -> None:
    expires = int(sq.clock[0] * 1000) + 60_000
    r = await sq.client.post(
        "/admin/api/tokens", json={"name": "short", "expiresAt": expires}, headers=sq.admin
    )
    token = r.json()["token"]
    assert (await sq.client.get("/admin/api/projects", headers=bearer(token))).status_code == 200
    sq.clock[0] += 61
    r = await sq.client.get("/admin/api/projects", headers=bearer(token))
    assert r.status_code == 401
    assert "expired" in r.json()["error"]["message"]


async def test_last_use_costs_one_write_a_minute(sq: Harness) -> None:
    sq.clock[0] += 60  # the harness used the token a moment ago
    writes = sq.store.engine.stats.jobs  # type: ignore[attr-defined]
    for _ in range(30):
        assert (await sq.client.get("/admin/api/projects", headers=sq.admin)).status_code == 200
    assert sq.store.engine.stats.jobs - writes == 1  # type: ignore[attr-defined]
    sq.clock[0] += 60
    await sq.client.get("/admin/api/projects", headers=sq.admin)
    assert sq.store.engine.stats.jobs - writes == 2  # type: ignore[attr-defined]
    (info,) = (await sq.client.get("/admin/api/tokens", headers=sq.admin)).json()["items"]
    assert info["lastUsedAt"] == int(sq.clock[0] * 1000)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": 5}, "name"),
        ({"expiresAt": "tomorrow"}, "expiresAt"),
        ({"expiresAt": 1}, "expiresAt"),
        ({"projectIds": []}, "projectIds"),
        ({"projectIds": "prj"}, "projectIds"),
        ({"projectIds": [7]}, "projectIds[0]"),
        ({"projectIds": ["prj_missing"]}, "projectIds[0]"),
        ({"scope": "all"}, "scope"),
    ],
)
async def test_bad_token_bodies_are_400_naming_the_field(
    sq: Harness, body: dict[str, object], field: str
) -> None:
    r = await sq.client.post("/admin/api/tokens", json=body, headers=sq.admin)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["message"].startswith(f"{field}:"), r.text


async def test_a_scoped_token_manages_no_tokens_and_makes_no_projects(sq: Harness) -> None:
    scoped = (await sq.store.issue_admin_token("s", project_ids=[sq.project["id"]])).token
    for method, path, body in (
        ("GET", "/admin/api/tokens", None),
        ("POST", "/admin/api/tokens", {"name": "wider"}),
        ("POST", "/admin/api/projects", {"name": "New"}),
    ):
        r = await sq.client.request(method, path, json=body, headers=bearer(scoped))
        assert (r.status_code, r.json()["error"]["code"]) == (403, "token_scope"), path
    assert len(await sq.store.list_admin_tokens()) == 2
    assert [p.name for p in await sq.store.list_projects()] == ["Acme"]
