"""Config against a real server: warm-start refresh with ETag, cohorts feeding targeting."""

from __future__ import annotations

import time

import httpx
from sdk_harness import LiveServer
from sdk_helpers import MakeClient, SystemEvents
from sdk_proxy import LossyProxy


def test_warm_start_refreshes_a_stale_config_with_its_etag(
    server: LiveServer, make_client: MakeClient
) -> None:
    server.admin(
        "PATCH",
        f"/admin/api/projects/{server.project_id}",
        {"sessionTimeoutSeconds": 1, "configRefreshSeconds": 1},
    )
    proxy = LossyProxy(server.url)
    try:
        client = make_client(server, backend_url=proxy.url)
        events = SystemEvents(client)
        events.wait_for("ConfigFetchFinished")
        client.background()
        time.sleep(1.1)  # past both the session timeout and the refresh interval
        client.foreground()
        events.wait_for("ConfigFetchFinished", 2)
        started = [e.properties["type"] for e in events.named("SessionStarted")]
        assert started == ["cold", "warm"]
        assert [e.properties["success"] for e in events.named("ConfigFetchFinished")] == [
            True,
            True,
        ]
        fetches = [s for s in proxy.seen if s["path"].startswith("/api/v1/config")]
        assert len(fetches) == 2
        assert "if-none-match" not in fetches[0]
        assert fetches[1]["if-none-match"]
        # Within the refresh interval a warm start does not fetch again.
        client.background()
        client.foreground()
        assert len([s for s in proxy.seen if s["path"].startswith("/api/v1/config")]) == 2
    finally:
        proxy.close()


def test_cohort_membership_from_the_manifest_feeds_targeting(
    server: LiveServer, make_client: MakeClient
) -> None:
    first = make_client(server)
    device_id = first.device_id
    first.close()
    partner = {"partner_api_key": "partner", "client_secret": server.data_import_key}
    for path, body in (
        (
            "/partners/amplitude/cohorts",
            {"cohort_id": "vip", "name": "VIP", "created_at": "2026-01-01T00:00:00Z"},
        ),
        (
            "/partners/amplitude/cohorts/users",
            {
                "cohort_id": "vip",
                "cohort_changes": [{"user_ids": [], "device_ids": [device_id]}],
            },
        ),
    ):
        httpx.post(server.url + path, json={**partner, **body}, timeout=10).raise_for_status()
    for name, cohort_type in (("VIP offer", "include"), ("Everyone else", "exclude")):
        server.create_campaign(
            {
                "name": name,
                "type": "DeepLink",
                "triggering": {"event": {"name": "Opened", "type": "custom"}},
                "targeting": [{"cohort": {"type": cohort_type, "values": ["vip"]}}],
                "content": {"url": f"myapp://{cohort_type}"},
            }
        )
    links: list[str] = []
    client = make_client(server)
    assert client.device_id == device_id
    client.register_deep_link_listener(lambda url, info: links.append(url) or True)
    SystemEvents(client).wait_for("ConfigFetchFinished")
    client.track("Opened")
    client.close()
    assert links == ["myapp://include"]
