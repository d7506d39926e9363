"""Creating a project and an app from the dashboard: forms, errors, keys shown once."""

from __future__ import annotations

import pytest
from dash_support import AsgiHarness

from tidings.server.dashboard.session import COOKIE, csrf_token

pytestmark = pytest.mark.anyio


async def _sign_in(h: AsgiHarness) -> str:
    h.client.cookies.set(COOKIE, h.token)
    return csrf_token(h.token)


async def test_create_a_project_and_an_app_and_see_its_keys_once(asgi: AsgiHarness) -> None:
    csrf = await _sign_in(asgi)
    c = asgi.client
    assert (await c.post("/projects", data={"project.name": "Beta"})).status_code == 403
    r = await c.post("/projects", data={"csrf": csrf, "project.name": "  "})
    assert r.status_code == 400
    assert 'id="project-name-error"' in r.text and "Project name is required." in r.text
    r = await c.post("/projects", data={"csrf": csrf, "project.name": "Beta"})
    assert r.status_code == 303
    project = next(p for p in await asgi.store.list_projects() if p.name == "Beta")
    assert r.headers["location"] == f"/?created={project.id}#project-{project.id}"

    r = await c.post(
        f"/projects/{project.id}/apps",
        data={"csrf": csrf, "app.name": "Beta web", "app.platform": ""},
    )
    assert r.status_code == 400
    assert f'id="app-platform-{project.id}-error"' in r.text
    assert 'value="Beta web"' in r.text  # what was typed is kept
    r = await c.post(
        "/projects/nope/apps", data={"csrf": csrf, "app.name": "x", "app.platform": "web"}
    )
    assert r.status_code == 404

    r = await c.post(
        f"/projects/{project.id}/apps",
        data={"csrf": csrf, "app.name": "Beta web", "app.platform": "web"},
    )
    assert r.status_code == 201
    assert r.headers["cache-control"] == "no-store"
    (app,) = await asgi.store.list_apps(project.id)
    (key,) = await asgi.store.list_keys(app.id)
    secret = r.text.split('id="key-secret">')[1].split("<")[0]
    signing = await asgi.store.signing_key(key.api_key_public)
    assert signing is not None and signing.secret == secret.encode()
    assert f'id="key-public">{key.api_key_public}<' in r.text
    assert "backend_url=&#34;http://tidings.test&#34;" in r.text
    assert 'data-poll="/apps/' + app.id + '/stream.json"' in r.text
    assert "Waiting for the first event" in r.text
    for page in ("/", f"/apps/{app.id}/campaigns", f"/apps/{app.id}/stream"):
        shown = await c.get(page)
        assert shown.status_code == 200
        assert secret not in shown.text
