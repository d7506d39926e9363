"""The campaign list over HTTP: search by name, sort, pages, duplicate and archive."""

from __future__ import annotations

import re
from typing import Any

import pytest
from dash_support import AsgiHarness

from tidings.server.dashboard.pager import PAGE_SIZE
from tidings.server.dashboard.session import csrf_token

pytestmark = pytest.mark.anyio


async def _sign_in(h: AsgiHarness) -> str:
    r = await h.client.post("/signin", data={"token": h.token, "next": "/"})
    assert r.status_code == 303
    return csrf_token(h.token)


def _body(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "type": "DeepLink",
        "triggering": {"event": {"name": "PurchaseCompleted", "type": "custom"}},
        "content": {"url": "app://welcome"},
        **extra,
    }


async def _campaign(h: AsgiHarness, name: str, state: str = "Draft", **extra: Any) -> str:
    campaign = await h.store.create_campaign(h.app_id, _body(name, **extra), state)  # type: ignore[arg-type]
    return campaign.id


def _names(html: str) -> list[str]:
    return re.findall(r'<td><a href="/campaigns/[^"]+">([^<]+)</a></td>', html)


async def _list(h: AsgiHarness, **params: str) -> str:
    r = await h.client.get(f"/apps/{h.app_id}/campaigns", params=params)
    assert r.status_code == 200
    return r.text


async def test_search_is_by_name_contains_ignoring_case(asgi: AsgiHarness) -> None:
    await _sign_in(asgi)
    for name in ("Spring sale", "Welcome", "Autumn SALE", "Onboarding"):
        await _campaign(asgi, name)
    assert sorted(_names(await _list(asgi, q="sale"))) == ["Autumn SALE", "Spring sale"]
    assert _names(await _list(asgi, q="nothing like it")) == []
    assert "whose name contains" in await _list(asgi, q="nothing like it")


async def test_sort_by_name_created_and_state(asgi: AsgiHarness) -> None:
    await _sign_in(asgi)
    await _campaign(asgi, "bravo", "Cancel")
    await _campaign(asgi, "Alpha", "Active")
    await _campaign(asgi, "charlie", "Draft")
    assert _names(await _list(asgi, sort="name")) == ["Alpha", "bravo", "charlie"]
    assert _names(await _list(asgi, sort="name", order="desc")) == ["charlie", "bravo", "Alpha"]
    assert _names(await _list(asgi)) == ["charlie", "Alpha", "bravo"]  # newest first
    assert _names(await _list(asgi, sort="created", order="asc")) == ["bravo", "Alpha", "charlie"]
    # Active, then Draft, then Stopped.
    assert _names(await _list(asgi, sort="state")) == ["Alpha", "charlie", "bravo"]
    assert _names(await _list(asgi, sort="not-a-sort", order="asc")) == [
        "bravo",
        "Alpha",
        "charlie",
    ]


async def test_pages_keep_the_search_and_the_sort(asgi: AsgiHarness) -> None:
    await _sign_in(asgi)
    for i in range(PAGE_SIZE + 5):
        await _campaign(asgi, f"Promo {i:03d}")
    await _campaign(asgi, "Other")
    first = await _list(asgi, q="promo", sort="name", order="asc")
    names = _names(first)
    assert names == [f"Promo {i:03d}" for i in range(PAGE_SIZE)]
    link = re.search(r'<a href="([^"]+)" rel="next">', first)
    assert link is not None
    url = link.group(1).replace("&amp;", "&")
    assert "q=promo" in url and "sort=name" in url and "offset=100" in url
    second = (await asgi.client.get(url)).text
    assert _names(second) == [f"Promo {i:03d}" for i in range(PAGE_SIZE, PAGE_SIZE + 5)]
    assert 'rel="next"' not in second
    assert "First page" in second


async def test_duplicate_makes_a_draft_copy(asgi: AsgiHarness) -> None:
    csrf = await _sign_in(asgi)
    original = await _campaign(asgi, "Welcome", "Active", priority=7)
    r = await asgi.client.post(f"/campaigns/{original}/duplicate", data={"csrf": csrf})
    assert r.status_code == 303
    copy_id = r.headers["location"].split("/")[2].split("?")[0]
    assert copy_id != original
    copy = await asgi.store.get_campaign(copy_id)
    source = await asgi.store.get_campaign(original)
    assert copy is not None and source is not None
    assert copy.state == "Draft" and copy.body["name"] == "Welcome (copy)"
    assert copy.body["priority"] == 7
    assert copy.body["triggering"] == source.body["triggering"]
    assert source.state == "Active" and source.body["name"] == "Welcome"
    assert "Welcome (copy)" in _names(await _list(asgi))


async def test_a_copy_that_would_be_invalid_is_refused_with_the_reason(asgi: AsgiHarness) -> None:
    csrf = await _sign_in(asgi)
    original = await _campaign(asgi, "Broken", content=None)
    r = await asgi.client.post(f"/campaigns/{original}/duplicate", data={"csrf": csrf})
    assert r.status_code == 400
    assert "cannot be copied" in r.text and "content" in r.text
    assert len(_names(await _list(asgi))) == 1


async def test_archive_hides_a_campaign_in_its_own_tab_and_restore_brings_it_back(
    asgi: AsgiHarness,
) -> None:
    csrf = await _sign_in(asgi)
    kept = await _campaign(asgi, "Kept")
    old = await _campaign(asgi, "Old promo", "Cancel")
    r = await asgi.client.post(f"/campaigns/{old}/archive", data={"csrf": csrf, "archived": "1"})
    assert r.status_code == 303 and "notice=archived" in r.headers["location"]
    listed = await _list(asgi)
    assert _names(listed) == ["Kept"]
    assert _names(await _list(asgi, state="Cancel")) == []
    archived = await _list(asgi, state="Archived")
    assert _names(archived) == ["Old promo"]
    assert 'value="0" class="small">Restore' in archived
    assert 'value="Active"' not in archived  # no Start while archived
    # Starting it is refused, in the dashboard and in the admin API.
    r = await asgi.client.post(f"/campaigns/{old}/state", data={"csrf": csrf, "state": "Active"})
    assert r.status_code == 409 and "archived" in r.text
    r = await asgi.client.post(
        f"/admin/api/campaigns/{old}/state",
        json={"state": "Active"},
        headers={"Authorization": f"Bearer {asgi.token}"},
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "campaign_archived"
    stored = await asgi.store.get_campaign(old)
    assert stored is not None and stored.state == "Cancel"
    r = await asgi.client.post(f"/campaigns/{old}/archive", data={"csrf": csrf, "archived": "0"})
    assert r.status_code == 303
    assert sorted(_names(await _list(asgi))) == ["Kept", "Old promo"]
    del kept


async def test_an_active_campaign_cannot_be_archived(asgi: AsgiHarness) -> None:
    csrf = await _sign_in(asgi)
    live = await _campaign(asgi, "Live")
    await asgi.store.set_campaign_state(live, "Active")
    r = await asgi.client.post(f"/campaigns/{live}/archive", data={"csrf": csrf, "archived": "1"})
    assert r.status_code == 409 and "must be stopped" in r.text
    stored = await asgi.store.get_campaign(live)
    assert stored is not None and "archived" not in stored.body


async def test_archived_campaigns_are_never_served_to_devices(asgi: AsgiHarness) -> None:
    app = await asgi.store.get_app(asgi.app_id)
    assert app is not None
    creds = await asgi.store.create_app(app.project_id, "Second", "ios")
    served = await asgi.store.create_campaign(creds.app_id, _body("Served"), "Active")
    # Archived while Active (written to the store directly, past the dashboard's rule).
    hidden = await asgi.store.create_campaign(
        creds.app_id, {**_body("Hidden"), "archived": True}, "Active"
    )
    r = await asgi.client.get("/api/v1/config", headers={"X-Api-Key": creds.api_key_public})
    assert r.status_code == 200
    ids = [c["id"] for c in r.json()["campaigns"]]
    assert served.id in ids and hidden.id not in ids


async def test_the_admin_api_keeps_archived_and_active_apart(asgi: AsgiHarness) -> None:
    auth = {"Authorization": f"Bearer {asgi.token}"}
    url = f"/admin/api/apps/{asgi.app_id}/campaigns"
    r = await asgi.client.post(url, json={**_body("Kept aside"), "archived": True}, headers=auth)
    assert r.status_code == 201, r.text
    assert r.json()["archived"] is True and r.json()["state"] == "Draft"
    r = await asgi.client.post(url, json={**_body("Bad"), "archived": "yes"}, headers=auth)
    assert r.status_code == 400 and r.json()["error"]["message"].startswith("archived")
    r = await asgi.client.post(
        url, json={**_body("Both"), "archived": True, "state": "Active"}, headers=auth
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "campaign_archived"
    live = await _campaign(asgi, "Live", "Active")
    r = await asgi.client.put(
        f"/admin/api/campaigns/{live}", json={**_body("Live"), "archived": True}, headers=auth
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "campaign_archived"
    stored = await asgi.store.get_campaign(live)
    assert stored is not None and "archived" not in stored.body
