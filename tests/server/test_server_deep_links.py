"""Deep-link schemes through the admin API: the blocked ones everywhere, and a project's own list
of allowed schemes (``settings.deepLinkSchemes``)."""

from __future__ import annotations

from typing import Any

import pytest
from server_support import Harness
from test_server_admin import campaign

pytestmark = pytest.mark.anyio


def _url(url: str, **extra: Any) -> dict[str, Any]:
    return campaign(content={"url": url}, **extra)


async def test_blocked_schemes_are_refused_on_create_and_replace(srv: Harness) -> None:
    c, h = srv.client, srv.admin
    base = f"/admin/api/apps/{srv.app_id}/campaigns"
    r = await c.post(base, json=_url("javascript:alert(1)"), headers=h)
    assert r.status_code == 400, r.text
    assert r.json()["error"] == {
        "code": "invalid_campaign",
        "message": "content.url: the javascript: scheme is not allowed in a deep link",
        "errors": [
            {
                "path": "content.url",
                "message": "the javascript: scheme is not allowed in a deep link",
            }
        ],
    }
    treatments = [
        {"id": "a", "sizePercent": 50},
        {"id": "b", "sizePercent": 50, "content": {"url": " DATA:text/html,<b>hi</b>"}},
    ]
    r = await c.post(base, json=_url("myapp://x", treatments=treatments), headers=h)
    assert r.status_code == 400
    assert r.json()["error"]["message"].startswith("treatments[1].content.url: the data: scheme")

    r = await c.post(base, json=_url("myapp://promo"), headers=h)
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    r = await c.put(f"/admin/api/campaigns/{cid}", json=_url("vbscript:msgbox(1)"), headers=h)
    assert r.status_code == 400
    assert r.json()["error"]["message"].startswith("content.url: the vbscript: scheme")
    stored = await srv.store.get_campaign(cid)
    assert stored is not None and stored.body["content"] == {"url": "myapp://promo"}


async def test_a_project_lists_the_schemes_it_allows(srv: Harness) -> None:
    c, h = srv.client, srv.admin
    pid = srv.project["id"]
    base = f"/admin/api/apps/{srv.app_id}/campaigns"
    r = await c.post(base, json=_url("https://example.com/sale"), headers=h)
    assert r.status_code == 201, r.text
    web = r.json()["id"]

    r = await c.patch(
        f"/admin/api/projects/{pid}",
        json={"settings": {"deepLinkSchemes": ["MyApp", "tel:"]}},
        headers=h,
    )
    assert r.status_code == 200, r.text
    assert r.json()["settings"]["deepLinkSchemes"] == ["myapp", "tel"]

    r = await c.post(base, json=_url("https://example.com/other"), headers=h)
    assert r.status_code == 400
    assert r.json()["error"]["message"] == (
        "content.url: the https: scheme is not allowed here (allowed: myapp:, tel:)"
    )
    assert (await c.post(base, json=_url("myapp://ok"), headers=h)).status_code == 201
    # A Draft saved before the list was narrowed cannot start with a link it now forbids.
    r = await c.post(f"/admin/api/campaigns/{web}/state", json={"state": "Active"}, headers=h)
    assert r.status_code == 400
    assert r.json()["error"]["message"].startswith("content.url: the https: scheme")

    # The list is an admin setting: devices never see it.
    r = await c.get("/api/v1/config", headers={"X-Api-Key": srv.app["apiKeyPublic"]})
    assert "deepLinkSchemes" not in r.json()["settings"]

    r = await c.patch(f"/admin/api/projects/{pid}", json={"deepLinkSchemes": None}, headers=h)
    assert r.status_code == 200 and r.json()["settings"]["deepLinkSchemes"] is None
    r = await c.post(f"/admin/api/campaigns/{web}/state", json={"state": "Active"}, headers=h)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    ("value", "field"),
    [
        (["javascript"], "settings.deepLinkSchemes[0]"),
        (["myapp", "DATA:"], "settings.deepLinkSchemes[1]"),
        (["my app"], "settings.deepLinkSchemes[0]"),
        ([5], "settings.deepLinkSchemes[0]"),
        ("myapp", "settings.deepLinkSchemes"),
        (["s"] * 51, "settings.deepLinkSchemes"),
    ],
)
async def test_bad_scheme_lists_are_400_naming_the_item(
    sq: Harness, value: object, field: str
) -> None:
    r = await sq.client.patch(
        f"/admin/api/projects/{sq.project['id']}",
        json={"settings": {"deepLinkSchemes": value}},
        headers=sq.admin,
    )
    assert r.status_code == 400, r.text
    assert r.json()["error"]["message"].startswith(field + ":"), r.text
