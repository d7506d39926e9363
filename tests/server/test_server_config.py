"""The config manifest (ETag / 304) and the Braze-style cohort import that feeds its cohorts."""

from __future__ import annotations

import orjson
import pytest
from server_support import Harness, event, upload_body
from test_server_admin import campaign

pytestmark = pytest.mark.anyio


async def _config(h: Harness, query: str = "", **headers: str) -> tuple[int, dict[str, str], bytes]:
    r = await h.client.get(
        f"/api/v1/config{query}", headers={"X-Api-Key": h.app["apiKeyPublic"], **headers}
    )
    return r.status_code, dict(r.headers), r.content


async def test_manifest_etag_and_304(srv: Harness) -> None:
    c, h = srv.client, srv.admin
    r = await c.post(f"/admin/api/apps/{srv.app_id}/campaigns", json=campaign(), headers=h)
    cid = r.json()["id"]
    r = await c.get("/api/v1/config", headers={"X-Api-Key": srv.app["apiKeyPublic"]})
    assert r.status_code == 200
    manifest = r.json()
    assert manifest["campaigns"] == []  # a Draft is not served
    assert manifest["settings"] == {
        "sessionTimeoutSeconds": 60,
        "frequencyCapping": None,
        "configRefreshSeconds": 300,
    }
    assert manifest["cohorts"] == []
    etag = r.headers["etag"]
    assert etag == f'"{manifest["version"]}"'

    status, headers, body = await _config(srv, **{"If-None-Match": etag})
    assert (status, body) == (304, b"")
    assert headers["etag"] == etag
    assert "x-server-time" in headers
    assert (await _config(srv, **{"If-None-Match": f'W/{etag}, "zzz"'}))[0] == 304
    assert (await _config(srv, **{"If-None-Match": '"stale"'}))[0] == 200

    await c.post(f"/admin/api/campaigns/{cid}/state", json={"state": "Active"}, headers=h)
    status, headers, _ = await _config(srv, **{"If-None-Match": etag})
    assert status == 200
    assert headers["etag"] != etag
    r = await c.get("/api/v1/config", headers={"X-Api-Key": srv.app["apiKeyPublic"]})
    assert [x["id"] for x in r.json()["campaigns"]] == [cid]
    assert r.json()["campaigns"][0]["state"] == "Active"
    etag2 = r.headers["etag"]

    await c.patch(
        f"/admin/api/projects/{srv.project['id']}", json={"sessionTimeoutSeconds": 30}, headers=h
    )
    r = await c.get(
        "/api/v1/config", headers={"X-Api-Key": srv.app["apiKeyPublic"], "If-None-Match": etag2}
    )
    assert r.status_code == 200
    assert r.json()["settings"]["sessionTimeoutSeconds"] == 30


async def test_manifest_needs_an_app_public_key(sq: Harness) -> None:
    assert (await sq.client.get("/api/v1/config")).status_code == 403
    for wrong in (sq.app["writeKey"], sq.admin_token, sq.app["apiKeySecret"], "pk_nope"):
        r = await sq.client.get("/api/v1/config", headers={"X-Api-Key": wrong})
        assert r.status_code == 403
        assert r.json()["error"]["message"].startswith("X-Api-Key")


async def _partner(h: Harness, path: str, body: dict[str, object]) -> tuple[int, dict[str, object]]:
    base = {"partner_api_key": "amplitude", "client_secret": h.project["dataImportKey"]}
    r = await h.client.post(f"/partners/amplitude/{path}", json={**base, **body})
    return r.status_code, r.json()


async def test_cohort_import_and_membership_in_the_manifest(srv: Harness) -> None:
    status, body = await _partner(
        srv,
        "cohorts",
        {"cohort_id": "abcd1234", "name": "TEST_COHORT", "created_at": "2021-01-21T19:20:30+05:00"},
    )
    assert status == 201, body
    assert body["cohort"]["displayName"] == "[Amplitude] TEST_COHORT: abcd1234"
    status, body = await _partner(
        srv,
        "cohorts/users",
        {
            "cohort_id": "abcd1234",
            "cohort_changes": [{"user_ids": ["u-1", "u-2"]}, {"device_ids": ["dev-9"]}],
        },
    )
    assert status == 200, body
    assert body["cohort"]["memberCount"] == 3

    status, _, raw = await _config(srv, "?userId=u-1")
    assert status == 200

    assert orjson.loads(raw)["cohorts"] == ["abcd1234"]
    _, headers_u1, _ = await _config(srv, "?userId=u-1")
    _, headers_none, _ = await _config(srv, "?userId=u-404")
    assert headers_u1["etag"] != headers_none["etag"]
    assert orjson.loads((await _config(srv, "?deviceId=dev-9"))[2])["cohorts"] == ["abcd1234"]

    await _partner(
        srv,
        "cohorts/users",
        {"cohort_id": "abcd1234", "cohort_changes": [{"user_ids": ["u-1"], "should_remove": True}]},
    )
    status, _, _ = await _config(srv, "?userId=u-1", **{"If-None-Match": headers_u1["etag"]})
    assert status == 200
    assert orjson.loads((await _config(srv, "?userId=u-1"))[2])["cohorts"] == []

    # renaming keeps members
    status, body = await _partner(srv, "cohorts", {"cohort_id": "abcd1234", "name": "Renamed"})
    assert body["cohort"]["memberCount"] == 2
    listed = (await srv.client.get("/admin/api/cohorts", headers=srv.admin)).json()["items"]
    assert [(x["id"], x["name"], x["memberCount"]) for x in listed] == [("abcd1234", "Renamed", 2)]


async def test_cohort_import_errors(sq: Harness) -> None:
    status, body = await _partner(
        sq, "cohorts", {"cohort_id": "c", "name": "n", "client_secret": "wrong"}
    )
    assert (status, body["error"]["code"]) == (401, "invalid_client_secret")
    status, body = await _partner(
        sq, "cohorts", {"cohort_id": "c", "name": "n", "partner_api_key": ""}
    )
    assert status == 401
    # an app key or an admin token is not a data import key
    for wrong in (sq.app["writeKey"], sq.admin_token, sq.app["apiKeySecret"]):
        status, _ = await _partner(
            sq, "cohorts", {"cohort_id": "c", "name": "n", "client_secret": wrong}
        )
        assert status == 401
    for bad, field in (
        ({"cohort_id": 5, "name": "n"}, "cohort_id"),
        ({"cohort_id": "c", "name": ""}, "name"),
        ({"cohort_id": "c", "name": "n", "created_at": "yesterday"}, "created_at"),
    ):
        status, body = await _partner(sq, "cohorts", bad)
        assert status == 400
        assert body["error"]["message"].startswith(field)
    status, body = await _partner(
        sq, "cohorts/users", {"cohort_id": "missing", "cohort_changes": []}
    )
    assert status == 404
    await _partner(sq, "cohorts", {"cohort_id": "c", "name": "n"})
    for changes, field in (
        ("x", "cohort_changes"),
        ([{"user_ids": "u"}], "cohort_changes[0].user_ids"),
        ([{"user_ids": [1]}], "cohort_changes[0].user_ids"),
        ([{}], "cohort_changes[0]"),
        ([{"user_ids": ["u"], "should_remove": "yes"}], "cohort_changes[0].should_remove"),
        ([{"aliases": {}}], "cohort_changes[0].aliases"),
        (
            [
                {"user_ids": [f"u{i}" for i in range(600)]},
                {"device_ids": [f"d{i}" for i in range(401)]},
            ],
            "cohort_changes",
        ),
    ):
        status, body = await _partner(
            sq, "cohorts/users", {"cohort_id": "c", "cohort_changes": changes}
        )
        assert status == 400, changes
        assert body["error"]["message"].startswith(field), body
    status, body = await _partner(
        sq,
        "cohorts/users",
        {"cohort_id": "c", "cohort_changes": [{"user_ids": [f"u{i}" for i in range(1000)]}]},
    )
    assert status == 200
    assert body["cohort"]["memberCount"] == 1000


async def test_config_and_upload_answers_carry_the_config_revision(srv: Harness) -> None:
    """A running device compares ``X-Config-Revision`` from its uploads with its manifest's."""
    c, h = srv.client, srv.admin
    status, headers, _ = await _config(srv)
    assert status == 200
    first = headers["x-config-revision"]
    status, headers, _ = await _config(srv, **{"If-None-Match": headers["etag"]})
    assert (status, headers["x-config-revision"]) == (304, first)

    body = orjson.dumps(upload_body(srv.app_id, [event("e-1")]))
    request_id = "5f0c9a3e-1b2d-4c5e-8f90-123456789abc"
    r = await srv.upload(body, request_id=request_id)
    assert r.status_code == 200
    assert r.headers["x-config-revision"] == first

    # A Draft changes no manifest, so no revision; starting it does.
    r = await c.post(f"/admin/api/apps/{srv.app_id}/campaigns", json=campaign(), headers=h)
    cid = r.json()["id"]
    assert (await srv.upload(body, request_id=request_id)).headers["x-config-revision"] == first
    await c.post(f"/admin/api/campaigns/{cid}/state", json={"state": "Active"}, headers=h)
    replayed = await srv.upload(body, request_id=request_id)
    assert replayed.headers["x-idempotent-replay"] == "true"
    assert replayed.headers["x-config-revision"] != first  # fresh, not the stored answer's
    status, headers, _ = await _config(srv)
    assert headers["x-config-revision"] == replayed.headers["x-config-revision"]


async def test_the_data_import_key_is_revoked_without_a_new_one(srv: Harness) -> None:
    """A revoked key stops cohort imports; revoking twice is a 404; a new key works."""
    pid, h = srv.project["id"], srv.admin
    project = (await srv.client.get(f"/admin/api/projects/{pid}", headers=h)).json()
    assert project["dataImportKeyActive"] is True
    r = await srv.client.delete(f"/admin/api/projects/{pid}/data-import-key", headers=h)
    assert r.status_code == 204, r.text
    status, body = await _partner(srv, "cohorts", {"cohort_id": "abcd1234", "name": "C"})
    assert status == 401 and body["error"]["code"] == "invalid_client_secret"
    project = (await srv.client.get(f"/admin/api/projects/{pid}", headers=h)).json()
    assert project["dataImportKeyActive"] is False
    r = await srv.client.delete(f"/admin/api/projects/{pid}/data-import-key", headers=h)
    assert (r.status_code, r.json()["error"]["code"]) == (404, "data_import_key_not_found")
    r = await srv.client.delete("/admin/api/projects/prj_nope/data-import-key", headers=h)
    assert r.status_code == 404
    r = await srv.client.post(f"/admin/api/projects/{pid}/data-import-key", headers=h)
    assert r.status_code == 201
    srv.project["dataImportKey"] = r.json()["dataImportKey"]
    status, _ = await _partner(srv, "cohorts", {"cohort_id": "abcd1234", "name": "C"})
    assert status == 201
    project = (await srv.client.get(f"/admin/api/projects/{pid}", headers=h)).json()
    assert project["dataImportKeyActive"] is True
