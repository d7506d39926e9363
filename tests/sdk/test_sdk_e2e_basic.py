"""The SDK against a real server: delivery, config, clock."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from sdk_harness import LiveServer
from sdk_helpers import MakeClient, SystemEvents


def test_tracked_events_arrive_once_with_their_session(
    server: LiveServer, make_client: MakeClient
) -> None:
    client = make_client(server)
    for i in range(25):
        client.track("Purchase", {"i": i, "plan": "annual"})
    assert client.flush(10)
    stored = server.stored_events()
    purchases = [e for e in stored if e["name"] == "Purchase"]
    assert sorted(e["properties"]["i"] for e in purchases) == list(range(25))
    ids = [e["id"] for e in stored]
    assert len(ids) == len(set(ids))
    names = Counter(e["name"] for e in stored)
    assert names["SessionStarted"] == 1
    assert names["SdkInitialized"] == 1
    assert names["EventTriggered"] == 25
    session_ids = {e["sessionId"] for e in stored}
    assert len(session_ids) == 1
    assert client.pending_count() == 0


def test_config_fetch_uses_etag_and_reports_campaigns(
    server: LiveServer, make_client: MakeClient, tmp_path: Path
) -> None:
    campaign_id = server.create_campaign(
        {
            "name": "Welcome",
            "type": "DeepLink",
            "triggering": {"event": {"name": "Opened", "type": "custom"}},
            "content": {"url": "myapp://welcome"},
        }
    )
    seen: list[tuple[str, dict[str, object]]] = []
    client = make_client(server)
    client.register_deep_link_listener(lambda url, info: seen.append((url, info)) or True)
    finished = SystemEvents(client).wait_for("ConfigFetchFinished")
    assert finished[0].properties == {
        "campaignCount": 1,
        "success": True,
        "campaigns": [{"id": campaign_id, "name": "Welcome"}],
    }
    client.track("Opened", {"from": "test"})
    assert client.flush(10)
    stored = server.stored_events()
    shown = [e for e in stored if e["name"] == "CampaignShown"]
    assert shown and shown[0]["properties"]["campaignId"] == campaign_id
    client.close()
    assert seen and seen[0][0] == "myapp://welcome"
    info = seen[0][1]
    assert info["campaignId"] == campaign_id
    assert info["campaignName"] == "Welcome"
    assert info["triggeringEvent"] == "Opened"
    assert info["triggeringProperties"] == {"from": "test"}
    assert info["treatmentId"] == "0"
    stats = server.campaign_stats(campaign_id)
    assert stats["decisions"].get("SUCCESS") == 1
