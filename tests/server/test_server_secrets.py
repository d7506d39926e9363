"""Destination and sink secrets are write-only: masked in every answer of both admin trees, in
the dashboard and in the CLI; a write that sends the mask back keeps the stored secret."""

from __future__ import annotations

import asyncio
import re
from html import unescape

import orjson
import pytest
from server_support import SERVER_KEY, Harness
from typer.testing import CliRunner

import tidings.cli  # noqa: F401  (registers the commands)
from tidings.cli.app import app
from tidings.core.redact import MASK
from tidings.server.dashboard.session import csrf_token
from tidings.storage import open_store

pytestmark = pytest.mark.anyio

SECRET = "amp-secret-0123456789"
PASSWORD = "s3cr3t-pw"
SETTINGS = {
    "apiKey": "amp-key",
    "secretKey": SECRET,
    "baseUrl": f"https://proxy:{PASSWORD}@amplitude-proxy.example:8443/",
}
SHOWN = {
    "apiKey": "amp-key",
    "secretKey": MASK,
    "baseUrl": f"https://proxy:{MASK}@amplitude-proxy.example:8443/",
}


async def _stored_settings(h: Harness, instance_id: str) -> dict[str, object]:
    doc = await h.store.get_document("destinations", instance_id)
    assert doc is not None
    return dict(doc.body["settings"])


async def test_destination_secrets_are_masked_and_kept(srv: Harness) -> None:
    c, h = srv.client, srv.admin
    base = f"/admin/api/apps/{srv.app_id}/destinations"
    r = await c.post(base, json={"kind": "amplitude", "settings": SETTINGS}, headers=h)
    assert r.status_code == 201, r.text
    dst = r.json()["id"]
    answers = [
        r,
        await c.get(base, headers=h),
        await c.get(f"{base}/{dst}", headers=h),
        await c.get("/admin/api/destinations", headers=h),
        await c.get(f"/admin/api/destinations/{dst}", headers=h),
        await c.post(f"{base}/{dst}/pause", headers=h),
        await c.post(f"{base}/{dst}/resume", headers=h),
    ]
    for answer in answers:
        assert SECRET not in answer.text and PASSWORD not in answer.text, answer.url
    assert (
        r.json()["settings"] == {**SHOWN, "endpoint": "north_america"}
        or r.json()["settings"] == SHOWN
    )

    # Read, change one thing, write it all back: the secrets survive.
    shown = (await c.get(f"{base}/{dst}", headers=h)).json()
    r = await c.patch(
        f"{base}/{dst}", json={"settings": {**shown["settings"], "apiKey": "k2"}}, headers=h
    )
    assert r.status_code == 200, r.text
    assert SECRET not in r.text
    assert await _stored_settings(srv, dst) == {**SETTINGS, "apiKey": "k2"}
    r = await c.put(
        f"/admin/api/destinations/{dst}",
        json={"kind": "amplitude", "appIds": [srv.app_id], "settings": shown["settings"]},
        headers=h,
    )
    assert r.status_code == 200, r.text
    assert await _stored_settings(srv, dst) == SETTINGS

    # A new value replaces the secret; an empty one clears it.
    r = await c.patch(f"{base}/{dst}", json={"settings": {"secretKey": "new-secret"}}, headers=h)
    assert (await _stored_settings(srv, dst))["secretKey"] == "new-secret"
    assert r.json()["settings"]["secretKey"] == MASK
    await c.patch(f"{base}/{dst}", json={"settings": {"secretKey": ""}}, headers=h)
    assert (await _stored_settings(srv, dst))["secretKey"] == ""


async def test_sink_urls_and_headers_are_masked(sq: Harness) -> None:
    r = await sq.client.post(
        f"/admin/api/apps/{sq.app_id}/streams",
        json={
            "kind": "webhook",
            "settings": {
                "url": f"https://hook:{PASSWORD}@receiver.example/in",
                "headers": {"Authorization": "Bearer hook-token"},
            },
        },
        headers=sq.admin,
    )
    assert r.status_code == 201, r.text
    for answer in (r, await sq.client.get("/admin/api/streams", headers=sq.admin)):
        assert PASSWORD not in answer.text and "hook-token" not in answer.text
    assert r.json()["settings"]["url"] == f"https://hook:{MASK}@receiver.example/in"


async def test_the_dashboard_shows_no_secret_and_saving_keeps_it(sq: Harness) -> None:
    r = await sq.client.post(
        f"/admin/api/apps/{sq.app_id}/destinations",
        json={"kind": "amplitude", "settings": SETTINGS},
        headers=sq.admin,
    )
    dst = r.json()["id"]
    await sq.client.post("/signin", data={"token": sq.admin_token, "next": "/"})
    page = (await sq.client.get(f"/apps/{sq.app_id}/destinations/{dst}")).text
    assert SECRET not in page and PASSWORD not in page
    draft = re.search(r'<textarea id="body" name="body"[^>]*>([^<]*)</textarea>', page)
    assert draft is not None
    r = await sq.client.post(
        f"/apps/{sq.app_id}/destinations/{dst}",
        data={"csrf": csrf_token(sq.admin_token), "action": "edit", "body": unescape(draft[1])},
    )
    assert r.status_code == 303, r.text
    assert await _stored_settings(sq, dst) == SETTINGS


def test_the_cli_prints_secrets_masked(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIDINGS_SECRET_KEY", SERVER_KEY.hex())

    async def make_app() -> str:
        store = await open_store(sqlite_url, server_key=SERVER_KEY)
        try:
            project = await store.create_project("p")
            return (await store.create_app(project.id, "a", "ios")).app_id
        finally:
            await store.close()

    app_id = asyncio.run(make_app())
    runner = CliRunner()
    args = ["amplitude", "add", "--app", app_id, "--api-key", "amp-key", "--db", sqlite_url]
    added = runner.invoke(app, [*args, "--secret-key", SECRET])
    assert added.exit_code == 0, added.output
    listed = runner.invoke(app, ["amplitude", "list", "--db", sqlite_url])
    assert listed.exit_code == 0, listed.output
    for output in (added.stdout, listed.stdout):
        assert SECRET not in output
    assert orjson.loads(listed.stdout)[0]["settings"]["secretKey"] == MASK
