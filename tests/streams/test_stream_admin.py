"""Sinks configured through the admin API and run by the pipeline runner (in-process, on SQLite
and PostgreSQL).

The app is the real Starlette app over a real store; uploads are signed like the SDK signs them;
the pipeline runner feeds the configured sinks from their own cursors.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from stream_support import Receiver, check_envelope

from tidings.pipeline import PipelineRunner
from tidings.pipeline.streams import SinkConsumers
from tidings.server.app import create_app
from tidings.server.auth import sign
from tidings.storage import Store, open_store
from tidings.streams.jsonl import app_directory_name, read_jsonl_dir

KEY = bytes(range(32))
T0 = 1_764_300_000_000


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class Api:
    store: Store
    client: httpx.AsyncClient
    admin: dict[str, str]
    app: dict[str, Any]
    other_app: dict[str, Any]
    sinks: SinkConsumers = field(init=False)

    def __post_init__(self) -> None:
        self.sinks = SinkConsumers(self.store)

    @property
    def app_id(self) -> str:
        return str(self.app["appId"])

    async def upload(
        self,
        events: list[dict[str, Any]],
        app: dict[str, Any] | None = None,
        decisions: list[dict[str, Any]] | None = None,
    ) -> str:
        """Upload signed; returns the request id."""
        app = app or self.app
        body = orjson.dumps(
            {
                "device": {"deviceId": "dev-1", "platform": "ios", "locale": "en_US"},
                "user": {"userId": "u-1"},
                "sessions": [{"id": "s-1", "counter": 1, "type": "cold", "startedAt": T0}],
                "events": events,
                "decisions": decisions or [],
            }
        )
        ts = str(int(time.time()))
        request_id = str(uuid.uuid4())
        headers = {
            "Content-Type": "application/json",
            "X-Api-Key": app["apiKeyPublic"],
            "X-Timestamp": ts,
            "X-Request-Id": request_id,
            "X-Signature": sign(app["apiKeySecret"], "POST", "/api/v1/session", body, ts),
        }
        r = await self.client.post("/api/v1/session", content=body, headers=headers)
        assert r.status_code == 200, r.text
        assert r.json()["accepted"] == len(events), r.text
        return request_id

    async def run_pipeline(self) -> None:
        runner = PipelineRunner(self.store, providers=[self.sinks.consumers])
        await runner.run_until_idle()


def tapped(i: int) -> dict[str, Any]:
    return {
        "id": f"e-{uuid.uuid4().hex[:8]}-{i}",
        "name": "Tapped",
        "type": "custom",
        "timestamp": T0 + i,
        "sessionId": "s-1",
        "properties": {"n": i},
    }


@pytest.fixture
async def api(db_url: str) -> AsyncIterator[Api]:
    store = await open_store(db_url, server_key=KEY)
    try:
        token = await store.create_admin_token("t")
        project = await store.create_project("p")
        first = (await store.create_app(project.id, "a", "ios")).to_json()
        second = (await store.create_app(project.id, "b", "ios")).to_json()
        transport = httpx.ASGITransport(app=create_app(store))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield Api(store, client, {"Authorization": f"Bearer {token}"}, first, second)
    finally:
        await store.close()


@pytest.mark.anyio
async def test_add_list_read_pause_resume_remove(api: Api, tmp_path: Path) -> None:
    c, h, base = api.client, api.admin, f"/admin/api/apps/{api.app_id}/streams"
    r = await c.post(
        base,
        json={
            "kind": "webhook",
            "settings": {"url": "http://127.0.0.1:9/x", "headers": {"A": "s"}},
        },
        headers=h,
    )
    assert r.status_code == 201, r.text
    sink = r.json()
    assert sink["appIds"] == [api.app_id]
    assert sink["settings"]["headers"] == {"A": "***"}  # secrets are not read back
    assert sink["enabled"] is True and sink["cursor"] == f"stream:{sink['id']}"
    assert [s["id"] for s in (await c.get(base, headers=h)).json()["items"]] == [sink["id"]]
    assert (await c.get(f"/admin/api/apps/{api.other_app['appId']}/streams", headers=h)).json() == {
        "items": [],
        "next": None,
    }
    r = await c.get(f"/admin/api/apps/{api.other_app['appId']}/streams/{sink['id']}", headers=h)
    assert r.status_code == 404
    assert (await c.get("/admin/api/streams", headers=h)).json()["items"][0]["id"] == sink["id"]

    r = await c.post(f"{base}/{sink['id']}/pause", headers=h)
    assert r.json()["paused"] is True
    r = await c.get(f"{base}/{sink['id']}", headers=h)
    assert r.json()["enabled"] is False and r.json()["behind"] == 0
    r = await c.post(f"{base}/{sink['id']}/resume", headers=h)
    assert r.json()["enabled"] is True

    assert (await c.delete(f"{base}/{sink['id']}", headers=h)).json()["deleted"] is True
    assert (await c.get(f"{base}/{sink['id']}", headers=h)).status_code == 404
    assert (await c.get(base, headers=h)).json() == {"items": [], "next": None}


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "kafka"}, "kind"),
        ({"kind": "jsonl", "settings": {}}, "settings.directory"),
        ({"kind": "jsonl", "settings": {"directory": "d", "maxBytes": "big"}}, "settings.maxBytes"),
        ({"kind": "jsonl", "settings": {"directory": "d", "rotate": 1}}, "settings.rotate"),
        ({"kind": "webhook", "settings": {"url": "ftp://x"}}, "settings.url"),
        (
            {"kind": "webhook", "settings": {"url": "http://x", "headers": {"Host": "h"}}},
            "settings.headers['Host']",
        ),
        ({"kind": "nats", "settings": {"servers": ["http://x"]}}, "settings.servers[0]"),
        ({"kind": "nats", "settings": {"subjectPrefix": "a.*"}}, "settings.subjectPrefix"),
        ({"kind": "nats", "enabled": "yes"}, "enabled"),
        ({"kind": "nats", "startAt": "yesterday"}, "startAt"),
        ({"kind": "nats", "appIds": ["x"]}, "appIds"),
    ],
)
async def test_refusals_name_the_field(api: Api, body: dict[str, Any], field: str) -> None:
    r = await api.client.post(f"/admin/api/apps/{api.app_id}/streams", json=body, headers=api.admin)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["message"].startswith(field), r.text


@pytest.mark.anyio
async def test_global_route_checks_apps_and_directories(api: Api, tmp_path: Path) -> None:
    c, h = api.client, api.admin
    body = {"kind": "jsonl", "appIds": [api.app_id, "nope"], "settings": {"directory": "x"}}
    r = await c.post("/admin/api/streams", json=body, headers=h)
    assert r.json()["error"]["message"].startswith("appIds[1]")
    body["appIds"] = [api.app_id, api.other_app["appId"]]
    body["settings"] = {"directory": str(tmp_path / "out")}
    assert (await c.post("/admin/api/streams", json=body, headers=h)).status_code == 201
    r = await c.post("/admin/api/streams", json=body, headers=h)
    assert r.status_code == 409 and r.json()["error"]["code"] == "directory_in_use"
    assert (
        await c.get("/admin/api/streams", headers={"Authorization": "Bearer x"})
    ).status_code == 401


@pytest.mark.anyio
async def test_pipeline_feeds_each_sink_from_its_own_cursor(api: Api, tmp_path: Path) -> None:
    c, h = api.client, api.admin
    await api.upload([tapped(0)])  # stored before any sink exists
    out_now, out_all = tmp_path / "now", tmp_path / "all"
    base = f"/admin/api/apps/{api.app_id}/streams"
    now = await c.post(
        base, json={"kind": "jsonl", "settings": {"directory": str(out_now)}}, headers=h
    )
    everything = await c.post(
        base,
        json={"kind": "jsonl", "settings": {"directory": str(out_all)}, "startAt": "beginning"},
        headers=h,
    )
    assert now.status_code == everything.status_code == 201
    await api.upload([tapped(1), tapped(2)])
    await api.upload([tapped(9)], app=api.other_app)  # not this sink's app
    await api.run_pipeline()

    await c.post(f"{base}/{now.json()['id']}/pause", headers=h)
    await api.upload([tapped(3)])
    await api.run_pipeline()
    paused = await c.get(f"{base}/{now.json()['id']}", headers=h)
    assert paused.json()["behind"] > 0
    await c.post(f"{base}/{now.json()['id']}/resume", headers=h)
    await api.run_pipeline()
    await stream_closing(api)

    got_now = read_jsonl_dir(out_now / app_directory_name(api.app_id))
    got_all = read_jsonl_dir(out_all / app_directory_name(api.app_id))
    for record in got_now + got_all:
        check_envelope(record)
    assert [r["metrics"]["n"] for r in got_now] == [1, 2, 3]
    assert [r["metrics"]["n"] for r in got_all] == [0, 1, 2, 3]
    assert not (out_now / app_directory_name(api.other_app["appId"])).exists()
    r = await c.get(f"{base}/{now.json()['id']}", headers=h)
    assert r.json()["behind"] == 0


async def stream_closing(api: Api) -> None:
    """Close the open sinks (what the runner's housekeeping service does when it stops)."""
    await api.sinks.streams.close()


@pytest.mark.anyio
async def test_webhook_dead_letters_are_listed_and_discarded(api: Api) -> None:
    c, h = api.client, api.admin
    with Receiver(status=422).running() as receiver:
        base = f"/admin/api/apps/{api.app_id}/streams"
        r = await c.post(
            base,
            json={"kind": "webhook", "settings": {"url": receiver.url, "headers": {"X-K": "v"}}},
            headers=h,
        )
        sink_id = r.json()["id"]
        events = [tapped(i) for i in range(3)]
        await api.upload(events)
        await api.run_pipeline()
        # The same batch refused again (a re-delivery) replaces its dead letter, never doubles it.
        await api.store.reset_cursor(f"stream:{sink_id}", 0)
        await api.run_pipeline()
    assert receiver.headers[0]["X-K"] == "v"
    assert receiver.headers[0]["Tidings-Stream-Version"] == "1"
    letters = (await c.get(f"{base}/{sink_id}/dead-letters", headers=h)).json()["items"]
    assert len(letters) == 1
    letter = letters[0]
    assert letter["status"] == 422 and letter["url"] == receiver.url and letter["count"] == 3
    assert [e["event_id"] for e in letter["events"]] == [e["id"] for e in events]
    assert "refused" in letter["response"]
    r = await c.post(f"{base}/{sink_id}/dead-letters/discard", headers=h)
    assert r.json() == {"discarded": 1}
    assert (await c.get(f"{base}/{sink_id}/dead-letters", headers=h)).json()["items"] == []
    await stream_closing(api)


@pytest.mark.anyio
async def test_restart_completes_files_a_crash_left_open(api: Api, tmp_path: Path) -> None:
    from tidings.streams.configured import ConfiguredStreams

    out = tmp_path / "crash"
    r = await api.client.post(
        f"/admin/api/apps/{api.app_id}/streams",
        json={"kind": "jsonl", "settings": {"directory": str(out)}},
        headers=api.admin,
    )
    await api.upload([tapped(1)])
    await api.run_pipeline()  # delivered into an open file, never closed: the crash
    folder = out / app_directory_name(api.app_id)
    assert read_jsonl_dir(folder) == []
    restarted = ConfiguredStreams(api.store)
    assert [s.id for s in await restarted.refresh()] == [r.json()["id"]]  # nothing new to send
    assert [rec["metrics"]["n"] for rec in read_jsonl_dir(folder)] == [1]
    await restarted.close()


@pytest.mark.anyio
async def test_an_unreadable_row_is_skipped_not_blocking(api: Api, tmp_path: Path) -> None:
    from tidings.storage import EventIn

    out = tmp_path / "skip"
    await api.client.post(
        f"/admin/api/apps/{api.app_id}/streams",
        json={"kind": "jsonl", "settings": {"directory": str(out)}},
        headers=api.admin,
    )
    bad = EventIn("bad-1", "Tapped", "custom", T0, b"not json")
    await api.store.ingest(api.app_id, [bad], [], arrival_ms=T0)
    await api.upload([tapped(7)])
    await api.run_pipeline()
    await stream_closing(api)
    records = read_jsonl_dir(out / app_directory_name(api.app_id))
    assert [r["metrics"]["n"] for r in records] == [7]


@pytest.mark.anyio
async def test_campaign_records_name_the_account_and_the_upload(api: Api, tmp_path: Path) -> None:
    """``awsAccountId`` is the project's setting (default: the project id); the endpoint's
    ``RequestId`` is the upload's ``X-Request-Id`` and ``EffectiveDate`` the decision's time."""
    out = tmp_path / "campaigns"
    project_id = (await api.store.get_app(api.app_id)).project_id  # type: ignore[union-attr]
    await api.client.post(
        f"/admin/api/apps/{api.app_id}/streams",
        json={"kind": "jsonl", "settings": {"directory": str(out)}},
        headers=api.admin,
    )
    other_project = await api.store.create_project("q")
    third = (await api.store.create_app(other_project.id, "c", "ios")).to_json()
    await api.client.post(
        "/admin/api/streams",
        json={
            "kind": "jsonl",
            "appIds": [third["appId"]],
            "settings": {"directory": str(tmp_path / "other")},
        },
        headers=api.admin,
    )
    r = await api.client.patch(
        f"/admin/api/projects/{other_project.id}",
        json={"awsAccountId": "123456789012"},
        headers=api.admin,
    )
    assert r.status_code == 200, r.text
    decision = {
        "id": "dec-1",
        "campaignId": "c-1",
        "status": "SUCCESS",
        "treatmentId": "0",
        "timestamp": 1562109174836,
    }
    # Decisions count only for campaigns of the uploading app's project.
    await api.store.create_campaign(api.app_id, {"id": "c-1", "name": "One"}, "Active")
    await api.store.create_campaign(third["appId"], {"id": "c-3", "name": "Three"}, "Active")
    request_id = await api.upload([tapped(1)], decisions=[decision])
    other_request = await api.upload(
        [tapped(2)], app=third, decisions=[{**decision, "id": "d-2", "campaignId": "c-3"}]
    )
    await api.run_pipeline()
    await stream_closing(api)
    records = read_jsonl_dir(out / app_directory_name(api.app_id))
    (send,) = [r for r in records if r["event_type"] == "_campaign.send"]
    assert send["awsAccountId"] == project_id
    endpoint = orjson.loads(send["client_context"]["custom"]["endpoint"])
    assert (endpoint["RequestId"], endpoint["EffectiveDate"]) == (
        request_id,
        "2019-07-02T23:12:54.836Z",
    )
    (tapped_record,) = [r for r in records if r["event_type"] == "Tapped"]
    assert "awsAccountId" not in tapped_record  # app events carry no account
    other = read_jsonl_dir(tmp_path / "other" / app_directory_name(third["appId"]))
    (other_send,) = [r for r in other if r["event_type"] == "_campaign.send"]
    assert other_send["awsAccountId"] == "123456789012"
    other_endpoint = orjson.loads(other_send["client_context"]["custom"]["endpoint"])
    assert other_endpoint["RequestId"] == other_request
