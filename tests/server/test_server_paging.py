"""Every admin listing is paged: ``limit`` and an opaque ``cursor`` in, ``{items, next}`` out.
Walking any listing a page at a time yields each item once, in the order of one big page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from server_support import Harness
from tenant_support import Tenants, campaign_body, two_tenants
from test_server_tenancy import concrete

from tidings.server.app import ROUTES
from tidings.server.paging import MAX_LIMIT, encode_cursor
from tidings.storage import DeadLetterIn
from tidings.streams.sinkconfig import dead_letter_collection

pytestmark = pytest.mark.anyio

PAGED = [doc for doc, _ in ROUTES if doc.paged]


async def _two_of_everything(h: Harness, directory: Path) -> Tenants:
    t = await two_tenants(h, directory)
    c, admin = h.client, h.admin
    await h.new_app("Acme Android")
    await c.post(f"/admin/api/apps/{t.a_app}/keys", headers=admin)
    await c.post(f"/admin/api/apps/{t.a_app}/campaigns", json=campaign_body(), headers=admin)
    await h.store.upsert_cohort(t.a_project, "a-cohort-2", "A browsers")
    await h.store.enqueue(t.a_destination, [], dead=[DeadLetterIn("item-2", 1, "x", b"{}")])
    letters = [DeadLetterIn(f"item-{i}", 1, "x", b"{}") for i in range(2)]
    await h.store.enqueue(t.a_global_destination, [], dead=letters)
    await c.post(
        f"/admin/api/apps/{t.a_app}/streams",
        json={"kind": "jsonl", "settings": {"directory": str(directory / "second")}},
        headers=admin,
    )
    await h.store.put_document(dead_letter_collection(t.a_sink), "dl-2", {"reason": "refused"})
    return t


async def _walk(h: Harness, path: str, limit: int) -> list[Any]:
    items: list[Any] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        r = await h.client.get(path, params=params, headers=h.admin)
        assert r.status_code == 200, (path, r.text)
        page = r.json()
        assert set(page) == {"items", "next"}
        assert len(page["items"]) <= limit
        items += page["items"]
        cursor = page["next"]
        if cursor is None:
            return items


async def test_every_listing_walks_page_by_page(srv: Harness, tmp_path: Path) -> None:
    t = await _two_of_everything(srv, tmp_path)
    assert len(PAGED) >= 15
    for doc in PAGED:
        path = concrete(doc, t)
        whole = await _walk(srv, path, MAX_LIMIT)
        assert len(whole) >= 2, path
        assert await _walk(srv, path, 1) == whole, path
        assert await _walk(srv, path, 2) == whole, path


async def test_limits_and_cursors_are_checked(sq: Harness) -> None:
    c, h = sq.client, sq.admin
    apps = f"/admin/api/projects/{sq.project['id']}/apps"
    for bad in ("0", "1001", "-1", "ten", "1.5"):
        r = await c.get(apps, params={"limit": bad}, headers=h)
        assert r.status_code == 400, bad
        assert r.json()["error"]["message"] == "limit: must be an integer between 1 and 1000"
    for bad in (
        "garbage!",
        "e30",  # base64 of {} : not a cursor
        encode_cursor("projects", [1, "prj"]),  # a cursor of another listing
        encode_cursor("apps", ["1", "app"]),  # the wrong types
        encode_cursor("apps", [1]),  # the wrong length
        "A" * 3000,
    ):
        r = await c.get(apps, params={"cursor": bad}, headers=h)
        assert r.status_code == 400, bad
        assert r.json()["error"] == {
            "code": "invalid_cursor",
            "message": "cursor: not a cursor of this listing",
        }


async def test_the_default_page_is_a_hundred(sq: Harness) -> None:
    for i in range(101):
        await sq.store.create_campaign(sq.app_id, campaign_body(name=f"c{i}"))
    r = await sq.client.get(f"/admin/api/apps/{sq.app_id}/campaigns", headers=sq.admin)
    first = r.json()
    assert len(first["items"]) == 100 and first["next"] is not None
    r = await sq.client.get(
        f"/admin/api/apps/{sq.app_id}/campaigns",
        params={"cursor": first["next"]},
        headers=sq.admin,
    )
    assert [x["name"] for x in r.json()["items"]] == ["c100"] and r.json()["next"] is None


async def test_openapi_documents_the_paging(sq: Harness) -> None:
    doc = (await sq.client.get("/openapi.json")).json()
    for route in PAGED:
        path = route.path.replace("{app_id}", "{appId}").replace("{project_id}", "{projectId}")
        operation = doc["paths"][path]["get"]
        names = {p["name"] for p in operation["parameters"] if p["in"] == "query"}
        assert names == {"limit", "cursor"}, path
        schema = operation["responses"]["2XX"]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/Page"}, path
