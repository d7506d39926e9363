"""Device profiles kept from uploads and Segment identify, and the audience estimate API."""

from __future__ import annotations

from base64 import b64encode
from typing import Any

import pytest
from server_support import Harness, event, upload_body

pytestmark = pytest.mark.anyio


def _device(device_id: str, country: str, version: str) -> dict[str, Any]:
    return {"deviceId": device_id, "platform": "ios", "appVersion": version, "country": country}


async def test_uploads_and_identify_keep_profiles_the_estimate_counts(srv: Harness) -> None:
    app_id = srv.app["appId"]
    seeded = [
        ("d-us-new", "US", "2.1"),
        ("d-us-old", "us", "1.9"),
        ("d-pl-new", "PL", "2.0"),
        ("d-de-new", "DE", "3.0"),
    ]
    for i, (device_id, country, version) in enumerate(seeded):
        body = upload_body(app_id, [event(f"e-{i}")], device=_device(device_id, country, version))
        r = await srv.upload(body)
        assert r.status_code == 200, r.text
    # A Segment identify from another device adds its traits and context.
    r = await srv.client.post(
        "/v1/identify",
        json={
            "anonymousId": "d-seg",
            "userId": "u-seg",
            "traits": {"plan": "pro"},
            "context": {
                "os": {"name": "iOS", "version": "17.0"},
                "app": {"version": "2.5"},
                "location": {"country": "US"},
            },
        },
        headers=basic(srv.app["writeKey"]),
    )
    assert r.status_code == 200, r.text

    async def estimate(targeting: list[dict[str, Any]]) -> dict[str, Any]:
        r = await srv.client.post(
            f"/admin/api/apps/{app_id}/audience", json={"targeting": targeting}, headers=srv.admin
        )
        assert r.status_code == 200, r.text
        return r.json()

    everyone = await estimate([])
    assert (everyone["devices"], everyone["profiles"], everyone["exact"]) == (5, 5, True)
    found = await estimate(
        [
            {"country": {"type": "include", "values": ["US", "DE"]}},
            {"appVersion": {"compareType": "greaterOrEqual", "value": "2.0"}},
        ]
    )
    assert found["devices"] == 3  # d-us-new, d-de-new, d-seg
    pro = await estimate(
        [
            {
                "customProperty": {
                    "key": "plan",
                    "valueType": "string",
                    "compareType": "equal",
                    "value": "pro",
                }
            }
        ]
    )
    assert pro["devices"] == 5  # the uploads' user map says plan=pro too
    history = await estimate(
        [
            {
                "eventCount": {
                    "event": {"name": "Buy", "type": "custom", "params": []},
                    "compareType": "greaterOrEqual",
                    "value": 1,
                }
            }
        ]
    )
    assert history["approximateRules"] == ["targeting[0]"] and not history["exact"]

    profile = await srv.store.get_profile(app_id, "d-seg")
    assert profile is not None
    assert (profile.os_version, profile.app_version, profile.country) == ("17.0", "2.5", "US")
    assert profile.custom_properties == {"plan": "pro"} and profile.user_id == "u-seg"
    assert (await srv.store.get_profile(app_id, "d-us-old")).country == "US"  # type: ignore[union-attr]

    r = await srv.client.post(
        f"/admin/api/apps/{app_id}/audience",
        json={"targeting": [{"country": {"type": "maybe", "values": []}}]},
        headers=srv.admin,
    )
    assert r.status_code == 400
    assert r.json()["error"]["errors"][0]["path"] == "targeting[0].country.type"
    r = await srv.client.post(f"/admin/api/apps/{app_id}/audience", json={"targeting": []})
    assert r.status_code == 401


def basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + b64encode(f"{key}:".encode()).decode()}
