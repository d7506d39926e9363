"""The dashboard under a token's scope, its tokens page, paged lists, and deep-link schemes."""

from __future__ import annotations

import re
import time

import httpx
import pytest
from dash_support import AsgiHarness

from tidings.server.dashboard.session import csrf_token

pytestmark = pytest.mark.anyio


async def _sign_in(h: AsgiHarness, token: str | None = None) -> str:
    token = token or h.token
    r = await h.client.post("/signin", data={"token": token, "next": "/"})
    assert r.status_code == 303, r.text
    return csrf_token(token)


async def _campaign(h: AsgiHarness, name: str = "Welcome", state: str = "Draft") -> str:
    body = {
        "name": name,
        "type": "DeepLink",
        "triggering": {"event": {"name": "PurchaseCompleted", "type": "custom"}},
        "content": {"url": "app://welcome"},
    }
    return (await h.store.create_campaign(h.app_id, body, state)).id  # type: ignore[arg-type]


@pytest.mark.reliability
async def test_a_scoped_session_sees_only_its_projects(asgi: AsgiHarness) -> None:
    a_campaign = await _campaign(asgi, state="Active")
    a_app = asgi.app_id
    a_project = (await asgi.store.get_app(a_app)).project_id  # type: ignore[union-attr]
    beta = await asgi.store.create_project("Beta")
    b_app = (await asgi.store.create_app(beta.id, "Beta iOS", "ios")).app_id
    scoped = (await asgi.store.issue_admin_token("beta", project_ids=[beta.id])).token
    csrf = await _sign_in(asgi, scoped)

    home = (await asgi.client.get("/")).text
    assert "Beta iOS" in home and "Acme" not in home and a_app not in home
    assert (await asgi.client.get(f"/apps/{b_app}/campaigns")).status_code == 200
    for path in (
        f"/projects/{a_project}",
        f"/apps/{a_app}/campaigns",
        f"/apps/{a_app}/campaigns/new",
        f"/campaigns/{a_campaign}",
        f"/campaigns/{a_campaign}/stats",
        f"/apps/{a_app}/events",
        f"/apps/{a_app}/stream",
        f"/apps/{a_app}/stream.json",
        f"/apps/{a_app}/destinations",
        f"/apps/{a_app}/streams",
    ):
        r = await asgi.client.get(path)
        assert r.status_code == 404, path
        assert "Welcome" not in r.text, path
    for path, form in (
        (f"/campaigns/{a_campaign}/state", {"state": "Cancel"}),
        (f"/campaigns/{a_campaign}/delete", {}),
        (f"/campaigns/{a_campaign}", {"action": "save", "name": "Mine now"}),
        (f"/apps/{a_app}/campaigns/new", {"action": "save", "name": "Planted"}),
        (f"/apps/{a_app}/destinations", {"body": '{"kind": "amplitude"}'}),
    ):
        r = await asgi.client.post(path, data={"csrf": csrf, **form})
        assert r.status_code == 404, path
    stored = await asgi.store.get_campaign(a_campaign)
    assert stored is not None and stored.state == "Active" and stored.body["name"] == "Welcome"
    assert [c.id for c in await asgi.store.list_campaigns(a_app)] == [a_campaign]
    r = await asgi.client.get("/tokens")
    assert r.status_code == 403
    assert "not limited to projects" in r.text


async def test_signing_out_keeps_the_token_and_the_tokens_page_revokes(asgi: AsgiHarness) -> None:
    csrf = await _sign_in(asgi)
    r = await asgi.client.post("/signout", data={"csrf": csrf})
    assert r.status_code == 303
    assert await asgi.store.verify_admin_token(asgi.token)  # signing out is not revoking

    csrf = await _sign_in(asgi)
    r = await asgi.client.post(
        "/tokens", data={"csrf": csrf, "name": "CI deploys", "expires_days": "30"}
    )
    assert r.status_code == 201, r.text
    new_token = re.search(r'<code id="new-token">([^<]+)</code>', r.text)
    assert new_token is not None
    assert await asgi.store.verify_admin_token(new_token[1])
    page = (await asgi.client.get("/tokens")).text
    assert "CI deploys" in page and new_token[1] not in page  # shown once
    info = next(t for t in await asgi.store.list_admin_tokens() if t.name == "CI deploys")
    assert info.expires_at is not None

    r = await asgi.client.post(f"/tokens/{info.id}/revoke", data={"csrf": csrf})
    assert (r.status_code, r.headers["location"]) == (303, "/tokens?notice=revoked")
    assert not await asgi.store.verify_admin_token(new_token[1])

    r = await asgi.client.post("/tokens", data={"csrf": csrf, "expires_days": "soon"})
    assert r.status_code == 400 and "whole number of days" in r.text

    own = next(t for t in await asgi.store.list_admin_tokens() if t.name == "tests")
    r = await asgi.client.post(f"/tokens/{own.id}/revoke", data={"csrf": csrf})
    assert r.headers["location"] == "/signin"
    r = await asgi.client.get("/tokens")
    assert r.status_code == 303 and r.headers["location"].startswith("/signin")


async def test_the_tokens_page_makes_a_scoped_token(asgi: AsgiHarness) -> None:
    csrf = await _sign_in(asgi)
    project = (await asgi.store.list_projects())[0]
    r = await asgi.client.post(
        "/tokens", data={"csrf": csrf, "name": "acme only", "projects": project.id}
    )
    assert r.status_code == 201, r.text
    info = next(t for t in await asgi.store.list_admin_tokens() if t.name == "acme only")
    assert info.project_ids == (project.id,)


async def test_long_lists_are_paged(asgi: AsgiHarness) -> None:
    for i in range(101):
        await _campaign(asgi, name=f"Campaign {i:03d}")
    await _sign_in(asgi)
    first = await asgi.client.get(f"/apps/{asgi.app_id}/campaigns?state=Draft")
    assert first.text.count('href="/campaigns/c_') // 2 == 100
    assert "Campaign 000" not in first.text  # newest first
    link = re.search(r'<a href="([^"]+)" rel="next">Next page</a>', first.text)
    assert link is not None and "state=Draft" in link[1]
    second = await asgi.client.get(link[1].replace("&amp;", "&"))
    assert "Campaign 000" in second.text and 'rel="next"' not in second.text
    assert "First page" in second.text
    r = await asgi.client.get(f"/apps/{asgi.app_id}/campaigns?offset=nonsense")
    assert r.status_code == 400 and "offset: not a page of this list" in r.text


async def test_the_editor_refuses_a_blocked_deep_link(asgi: AsgiHarness) -> None:
    csrf = await _sign_in(asgi)
    form = {
        "csrf": csrf,
        "action": "save",
        "name": "Bad link",
        "type": "DeepLink",
        "triggering.event.name": "PurchaseCompleted",
        "triggering.repeat.repeatType": "every",
        "triggering.repeat.repeatEntity": "event",
        "triggering.repeat.repeatValue": "1",
        "content.url": "javascript:alert(document.cookie)",
    }
    r = await asgi.client.post(f"/apps/{asgi.app_id}/campaigns/new", data=form)
    assert r.status_code == 400
    assert "the javascript: scheme is not allowed in a deep link" in r.text
    assert await asgi.store.list_campaigns(asgi.app_id) == []


async def test_an_expired_session_signs_out(asgi: AsgiHarness) -> None:
    issued = await asgi.store.issue_admin_token("brief", expires_at=int(time.time() * 1000) - 1)
    cookies = httpx.Cookies()
    cookies.set("tidings_admin", issued.token, domain="tidings.test")
    asgi.client.cookies = cookies
    r = await asgi.client.get("/")
    assert r.status_code == 303 and r.headers["location"].startswith("/signin")
