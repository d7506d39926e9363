"""Server campaigns through the admin API: accepted with a destination of their app that takes
campaign calls, refused naming the path otherwise, and never served to devices."""

from __future__ import annotations

from typing import Any

import pytest
from server_support import Harness

from tidings.pipeline.delivery import create_instance

pytestmark = pytest.mark.anyio

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def server_campaign(destination_id: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Welcome mail",
        "type": "Webhook",
        "channel": "server",
        "triggering": {"event": {"name": "Signed Up", "type": "custom"}},
        "content": {
            "destinationId": destination_id,
            "channelType": "EMAIL",
            "body": {"to": "{{traits.email}}"},
        },
    }
    body.update(overrides)
    return body


async def webhook(h: Harness, app_id: str) -> str:
    body = {
        "kind": "webhook",
        "name": "Mailer",
        "settings": {"url": "https://example.org/hook", "secret": SECRET},
        "subscriptions": [],
    }
    return (await create_instance(h.store, app_id, body)).id


async def test_a_server_campaign_is_accepted_and_never_served_to_devices(sq: Harness) -> None:
    c, h = sq.client, sq.admin
    dst = await webhook(sq, sq.app_id)
    base = f"/admin/api/apps/{sq.app_id}/campaigns"
    r = await c.post(base, json=server_campaign(dst, state="Active"), headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["channel"] == "server"
    manifest = await c.get("/api/v1/config", headers={"X-Api-Key": sq.app["apiKeyPublic"]})
    assert manifest.json()["campaigns"] == []


async def test_destinations_are_checked_naming_the_path(sq: Harness) -> None:
    c, h = sq.client, sq.admin
    base = f"/admin/api/apps/{sq.app_id}/campaigns"
    amplitude = await create_instance(
        sq.store, sq.app_id, {"name": "Amp", "settings": {"apiKey": "k"}}
    )
    treatments = [
        {"id": "A", "sizePercent": 50},
        {
            "id": "B",
            "sizePercent": 50,
            "content": {"destinationId": amplitude.id, "body": {}},
        },
    ]
    r = await c.post(base, json=server_campaign("dst_gone", treatments=treatments), headers=h)
    assert r.status_code == 400
    errors = r.json()["error"]["errors"]
    assert [e["path"] for e in errors] == [
        "content.destinationId",
        "treatments[1].content.destinationId",
    ]
    assert "no destination" in errors[0]["message"]
    assert "takes no campaign calls" in errors[1]["message"]
    # The core validator's own rules come first and name their paths too.
    r = await c.post(base, json=server_campaign("d", channel="in_app"), headers=h)
    assert r.status_code == 400 and r.json()["error"]["errors"][0]["path"] == "channel"
