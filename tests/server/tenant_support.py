"""Two tenants on one server: project A with one of everything an admin route can name, and
project B with a token limited to it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from server_support import Harness, event, upload_body

from tidings.storage import DeadLetterIn
from tidings.streams.sinkconfig import dead_letter_collection


@dataclass
class Tenants:
    """Ids of project A's resources, project B's, and the tokens that reach them."""

    a_project: str
    a_app: str
    a_key: str
    a_write_key: str
    a_campaign: str
    a_destination: str
    a_global_destination: str
    a_sink: str
    a_cohort: str
    b_project: str
    b_app: str
    b_token: str
    b_token_id: str
    admin_token_id: str

    def b_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.b_token}"}

    def path_values(self) -> dict[str, str]:
        """Path parameters naming project A's resources."""
        return {
            "project_id": self.a_project,
            "app_id": self.a_app,
            "campaign_id": self.a_campaign,
            "api_key_public": self.a_key,
            "write_key": self.a_write_key,
            "token_id": self.admin_token_id,
        }


def campaign_body(**extra: Any) -> dict[str, Any]:
    return {
        "name": "Spring sale",
        "type": "DeepLink",
        "triggering": {"event": {"name": "PurchaseCompleted", "type": "custom"}},
        "content": {"url": "myapp://sale"},
        **extra,
    }


async def two_tenants(h: Harness, directory: Path) -> Tenants:
    c, admin = h.client, h.admin
    a_app = h.app_id
    r = await c.post(f"/admin/api/apps/{a_app}/campaigns", json=campaign_body(), headers=admin)
    a_campaign = r.json()["id"]
    r = await c.post(
        f"/admin/api/campaigns/{a_campaign}/state", json={"state": "Active"}, headers=admin
    )
    assert r.status_code == 200, r.text
    r = await h.upload(
        upload_body(
            a_app,
            [event("a-1"), event("a-2", "Opened")],
            decisions=[
                {
                    "id": "d-1",
                    "campaignId": a_campaign,
                    "status": "SUCCESS",
                    "timestamp": 1_700_000_000_000,
                }
            ],
        )
    )
    assert r.status_code == 200, r.text
    settings = {"apiKey": "amp-key", "secretKey": "amp-secret"}
    r = await c.post(
        f"/admin/api/apps/{a_app}/destinations",
        json={"kind": "amplitude", "settings": settings},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    a_destination = r.json()["id"]
    r = await c.post(
        "/admin/api/destinations",
        json={"kind": "amplitude", "appIds": [a_app], "settings": settings},
        headers=admin,
    )
    a_global_destination = r.json()["id"]
    await h.store.enqueue(
        a_destination,
        [],
        dead=[DeadLetterIn("item-1", 3, "invalid api key", b"{}")],
    )
    r = await c.post(
        f"/admin/api/apps/{a_app}/streams",
        json={"kind": "jsonl", "settings": {"directory": str(directory / "a-stream")}},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    a_sink = r.json()["id"]
    await h.store.put_document(dead_letter_collection(a_sink), "dl-1", {"reason": "refused"})
    await h.store.upsert_cohort(h.project["id"], "a-cohort", "A buyers")

    r = await c.post("/admin/api/projects", json={"name": "Beta"}, headers=admin)
    b_project = r.json()["id"]
    r = await c.post(
        f"/admin/api/projects/{b_project}/apps",
        json={"name": "Beta iOS", "platform": "ios"},
        headers=admin,
    )
    b_app = r.json()["appId"]
    issued = await h.store.issue_admin_token("beta only", project_ids=[b_project])
    (admin_info,) = [t for t in await h.store.list_admin_tokens() if not t.scoped]
    return Tenants(
        a_project=h.project["id"],
        a_app=a_app,
        a_key=h.app["apiKeyPublic"],
        a_write_key=h.app["writeKey"],
        a_campaign=a_campaign,
        a_destination=a_destination,
        a_global_destination=a_global_destination,
        a_sink=a_sink,
        a_cohort="a-cohort",
        b_project=b_project,
        b_app=b_app,
        b_token=issued.token,
        b_token_id=issued.info.id,
        admin_token_id=admin_info.id,
    )
