"""The campaign list of a web or React Native app shows the JavaScript SDK snippet."""

from __future__ import annotations

import pytest
from dash_support import AsgiHarness

from tidings.server.dashboard.snippets import js_platform

pytestmark = pytest.mark.anyio


async def _campaign_list(h: AsgiHarness, app_id: str) -> str:
    r = await h.client.post("/signin", data={"token": h.token, "next": "/"})
    assert r.status_code == 303
    page = await h.client.get(f"/apps/{app_id}/campaigns")
    assert page.status_code == 200
    return page.text


async def test_a_web_app_gets_the_snippet_with_its_key_and_the_public_client_hint(
    asgi: AsgiHarness,
) -> None:
    project = (await asgi.store.list_projects())[0]
    creds = await asgi.store.create_app(project.id, "Shop web", "web")
    html = await _campaign_list(asgi, creds.app_id)
    assert "new Tidings.Tidings({" in html
    assert f'appId: "{creds.app_id}"' in html
    assert f'apiKeyPublic: "{creds.api_key_public}"' in html
    assert 'backendUrl: "http://tidings.test"' in html
    assert creds.api_key_secret not in html
    assert "does not accept public clients yet" in html
    r = await asgi.client.put(
        f"/admin/api/apps/{creds.app_id}/public-client",
        json={"enabled": True, "allowedOrigins": ["https://shop.example.com"]},
        headers={"Authorization": f"Bearer {asgi.token}"},
    )
    assert r.status_code == 200
    html = await _campaign_list(asgi, creds.app_id)
    assert "Public clients are on for https://shop.example.com" in html


async def test_react_native_gets_its_snippet_and_other_platforms_none(asgi: AsgiHarness) -> None:
    project = (await asgi.store.list_projects())[0]
    rn = await asgi.store.create_app(project.id, "Shop RN", "React-Native")
    html = await _campaign_list(asgi, rn.app_id)
    assert "lifecycle: AppState" in html
    assert "storage: AsyncStorage" in html
    ios = await _campaign_list(asgi, asgi.app_id)
    assert "Tidings.Tidings" not in ios and "AsyncStorage" not in ios


def test_platform_names() -> None:
    assert js_platform("Web") == "web"
    assert js_platform(" react native ") == "react-native"
    assert js_platform("ios") is None
