"""Public clients: uploads and config fetches with the publishable key, from allowed origins only.

Browsers cannot keep a secret, so an app may accept its ``apiKeyPublic`` without a signature
from the origins it lists; everything else about an upload (validation, request-id replay,
duplicate events) is the signed endpoint's.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
import pytest
from server_support import Harness, event, upload_body

from tidings.server.ratelimit import RateLimiter

pytestmark = pytest.mark.anyio

SHOP = "https://shop.example.com"


async def enable(h: Harness, **settings: Any) -> dict[str, Any]:
    body = {"enabled": True, "allowedOrigins": [SHOP], **settings}
    r = await h.client.put(f"/admin/api/apps/{h.app_id}/public-client", json=body, headers=h.admin)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def post(
    h: Harness,
    payload: Any,
    *,
    origin: str | None = SHOP,
    request_id: str | None = None,
    key: str | None = None,
    address: str | None = None,
) -> Any:
    query = {"apiKey": key or h.app["apiKeyPublic"], "requestId": request_id or str(uuid.uuid4())}
    headers = {"Content-Type": "text/plain;charset=UTF-8"}
    if origin is not None:
        headers["Origin"] = origin
    body = payload if isinstance(payload, bytes) else orjson.dumps(payload)
    return await h.client.post(
        "/api/v1/public/session", params=query, content=body, headers=headers
    )


async def test_off_by_default_and_the_setting_round_trips(sq: Harness) -> None:
    r = await post(sq, upload_body(sq.app_id, [event("e-1")]))
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "public_clients_disabled"
    r = await sq.client.get(f"/admin/api/apps/{sq.app_id}/public-client", headers=sq.admin)
    assert r.json() == {
        "appId": sq.app_id,
        "enabled": False,
        "allowedOrigins": [],
        "allowMissingOrigin": False,
        "deviceRequestsPerMinute": 120,
        "addressRequestsPerMinute": 1200,
    }
    saved = await enable(sq, allowedOrigins=["HTTPS://Shop.Example.com/", "https://*.example.org"])
    assert saved["allowedOrigins"] == [SHOP, "https://*.example.org"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"enabled": "yes"}, "enabled"),
        ({"allowedOrigins": "https://a.example"}, "allowedOrigins"),
        ({"allowedOrigins": ["https://a.example/path"]}, "allowedOrigins[0]"),
        ({"allowedOrigins": ["*"]}, "allowedOrigins[0]"),
        ({"deviceRequestsPerMinute": 0}, "deviceRequestsPerMinute"),
        ({"origins": []}, "origins"),
    ],
)
async def test_a_bad_setting_is_refused_naming_the_field(
    sq: Harness, body: dict[str, Any], field: str
) -> None:
    r = await sq.client.put(
        f"/admin/api/apps/{sq.app_id}/public-client", json=body, headers=sq.admin
    )
    assert r.status_code == 400
    assert r.json()["error"]["message"].startswith(f"{field}: ")


async def test_an_allowed_origin_uploads_exactly_once(srv: Harness) -> None:
    await enable(srv)
    payload = upload_body(srv.app_id, [event("e-1"), event("e-2", name="Viewed")])
    request_id = str(uuid.uuid4())
    first = await post(srv, payload, request_id=request_id)
    assert first.status_code == 200, first.text
    assert first.json()["accepted"] == 2
    assert first.headers["access-control-allow-origin"] == SHOP
    assert "x-server-time" in first.headers["access-control-expose-headers"].lower()
    again = await post(srv, payload, request_id=request_id)
    assert again.json() == first.json()
    assert again.headers["x-idempotent-replay"] == "true"
    other = await post(srv, payload)
    assert other.json()["accepted"] == 0
    assert other.json()["duplicates"] == 2
    recent = await srv.client.get(f"/admin/api/apps/{srv.app_id}/events/recent", headers=srv.admin)
    assert sorted(e["id"] for e in recent.json()["items"]) == ["e-1", "e-2"]


async def test_another_origin_is_refused_and_learns_nothing(sq: Harness) -> None:
    await enable(sq)
    payload = upload_body(sq.app_id, [event("e-1")])
    for origin in ("https://evil.example", "http://shop.example.com", "null", None):
        r = await post(sq, payload, origin=origin)
        assert r.status_code == 403, origin
        assert r.json()["error"]["code"] == "origin_not_allowed"
        assert "access-control-allow-origin" not in r.headers
    recent = await sq.client.get(f"/admin/api/apps/{sq.app_id}/events/recent", headers=sq.admin)
    assert recent.json()["items"] == []


async def test_native_apps_without_an_origin_and_wildcard_subdomains(sq: Harness) -> None:
    await enable(sq, allowedOrigins=["https://*.example.com"], allowMissingOrigin=True)
    assert (await post(sq, upload_body(sq.app_id, [event("e-1")]), origin=None)).status_code == 200
    ok = await post(sq, upload_body(sq.app_id, [event("e-2")]), origin="https://a.b.example.com")
    assert ok.status_code == 200
    bare = await post(sq, upload_body(sq.app_id, [event("e-3")]), origin="https://example.com")
    assert bare.status_code == 403
    lookalike = await post(
        sq, upload_body(sq.app_id, [event("e-4")]), origin="https://xexample.com"
    )
    assert lookalike.status_code == 403


async def test_preflight_is_answered_for_allowed_origins_only(sq: Harness) -> None:
    await enable(sq)
    query = {"apiKey": sq.app["apiKeyPublic"]}
    asked = {"Origin": SHOP, "Access-Control-Request-Method": "GET"}
    r = await sq.client.options("/api/v1/public/config", params=query, headers=asked)
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == SHOP
    assert "if-none-match" in r.headers["access-control-allow-headers"].lower()
    r = await sq.client.options(
        "/api/v1/public/session", params=query, headers={**asked, "Origin": "https://evil.example"}
    )
    assert r.status_code == 403
    assert "access-control-allow-origin" not in r.headers


async def test_config_with_etag_for_a_public_client(sq: Harness) -> None:
    await enable(sq)
    params = {"apiKey": sq.app["apiKeyPublic"], "deviceId": "d-1"}
    r = await sq.client.get("/api/v1/public/config", params=params, headers={"Origin": SHOP})
    assert r.status_code == 200, r.text
    assert r.json()["campaigns"] == []
    assert r.headers["access-control-allow-origin"] == SHOP
    etag = r.headers["etag"]
    again = await sq.client.get(
        "/api/v1/public/config", params=params, headers={"Origin": SHOP, "If-None-Match": etag}
    )
    assert again.status_code == 304
    assert again.headers["access-control-allow-origin"] == SHOP


async def test_bad_bodies_get_their_error_with_cors_headers(sq: Harness) -> None:
    await enable(sq)
    r = await post(sq, b"{not json")
    assert r.status_code == 400
    assert r.headers["access-control-allow-origin"] == SHOP
    r = await post(sq, upload_body(sq.app_id, [event("e-1")]), request_id="nope")
    assert r.status_code == 409
    r = await post(sq, upload_body(sq.app_id, [event("e-1")]), key="pk_unknown")
    assert r.status_code == 403


async def test_rate_limits_per_device_and_per_address(sq: Harness) -> None:
    await enable(sq, deviceRequestsPerMinute=2, addressRequestsPerMinute=5)
    payload = upload_body(sq.app_id, [event("e-1")])
    statuses = [(await post(sq, payload)).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    limited = await post(sq, payload)
    assert limited.json()["error"]["message"].startswith("too many requests from this device")
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.headers["access-control-allow-origin"] == SHOP
    other = upload_body(sq.app_id, [event("e-2")], device={"deviceId": "dev-2"})
    assert (await post(sq, other)).status_code == 200  # another device: the address's 5th
    refused = await post(sq, other)
    assert refused.status_code == 429
    assert "this address" in refused.json()["error"]["message"]
    sq.clock[0] += 60
    assert (await post(sq, other)).status_code == 200


def test_the_limiter_refills_and_stays_bounded() -> None:
    limiter = RateLimiter(max_keys=100)
    assert [limiter.admit("a", 60, 0.0) is None for _ in range(61)].count(True) == 60
    wait = limiter.admit("a", 60, 0.0)
    assert wait is not None and 0 < wait <= 1
    assert limiter.admit("a", 60, 1.0) is None
    for i in range(1000):
        limiter.admit(f"k{i}", 60, float(i))
    assert len(limiter) <= 101
