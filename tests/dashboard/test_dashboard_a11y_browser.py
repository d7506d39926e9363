"""Every main dashboard page at 1280 px and at 360 px: no horizontal scrolling on a phone, and
no axe-core violations at either width. Screenshots at both widths go to ``test-artifacts/``.

axe-core comes from the npm registry (``tests/dashboard/axe``, ``npm ci`` on first use) and is
evaluated in the page through the DevTools protocol: the dashboard's own CSP stays in force.
"""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from dash_support import ARTIFACTS, LiveServer
from playwright.sync_api import Page, expect

from tidings.sdk import Tidings

pytestmark = [pytest.mark.slow, pytest.mark.browser]

AXE_DIR = Path(__file__).with_name("axe")
_axe: list[str] = []
_lock = threading.Lock()


def axe_source() -> str:
    """axe.min.js, installed once per checkout by ``npm ci`` from the pinned lock file."""
    with _lock:
        if not _axe:
            script = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
            if not script.is_file():
                proc = subprocess.run(
                    ["npm", "ci", "--no-audit", "--no-fund"],
                    cwd=AXE_DIR,
                    capture_output=True,
                    text=True,
                    timeout=600,
                )
                assert proc.returncode == 0, f"npm ci failed:\n{proc.stdout}\n{proc.stderr}"
            _axe.append(script.read_text(encoding="utf-8"))
    return _axe[0]


def _violations(page: Page) -> list[dict[str, Any]]:
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source() + "\n;undefined")
    result = page.evaluate(
        "axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map(v => ({"
        "id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ': ' + n.failureSummary)})))"
    )
    assert isinstance(result, list)
    return result


def _seed(live: LiveServer, directory: Path) -> str:
    """A campaign, some events from a real SDK; returns the campaign id."""
    headers = {"Authorization": f"Bearer {live.admin_token}"}
    body = {
        "name": "Spring sale",
        "type": "DeepLink",
        "triggering": {
            "event": {"name": "PurchaseCompleted", "type": "custom", "params": []},
            "repeat": {"repeatType": "every", "repeatEntity": "event", "repeatValue": [1]},
        },
        "targeting": [{"country": {"type": "include", "values": ["US"]}}],
        "content": {"url": "acme://spring"},
        "holdoutPercent": 10,
        "treatments": [{"id": "A", "sizePercent": 50}, {"id": "B", "sizePercent": 50}],
    }
    r = httpx.post(
        f"{live.url}/admin/api/apps/{live.app['appId']}/campaigns", json=body, headers=headers
    )
    assert r.status_code == 201, r.text
    campaign_id = str(r.json()["id"])
    r = httpx.post(
        f"{live.url}/admin/api/campaigns/{campaign_id}/state",
        json={"state": "Active"},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    for i in range(4):
        device = Tidings(
            **live.sdk_kwargs(),
            data_dir=directory / f"device-{i}",
            upload_interval=0.05,
            device={"device_id": f"device-{i}", "country": "US", "app_version": "2.0.0"},
        )
        fetched = threading.Event()
        device.set_system_events_listener(
            lambda e, fetched=fetched: fetched.set() if e.name == "ConfigFetchFinished" else None
        )
        assert fetched.wait(10)
        device.set_custom_property("plan_tier", "pro")
        device.track("PurchaseCompleted", {"plan": "annual", "price": 29.99})
        assert device.flush(10)
        device.close()
    return campaign_id


def _pages(live: LiveServer, campaign_id: str) -> dict[str, str]:
    app = live.app["appId"]
    return {
        "home": "/",
        "project": f"/projects/{live.project_id}",
        "campaigns": f"/apps/{app}/campaigns",
        "editor-new": f"/apps/{app}/campaigns/new",
        "editor": f"/campaigns/{campaign_id}",
        "stats": f"/campaigns/{campaign_id}/stats",
        "catalog": f"/apps/{app}/events",
        "stream": f"/apps/{app}/stream",
        "cohorts": f"/apps/{app}/cohorts",
        "tokens": "/tokens",
        "destinations": f"/apps/{app}/destinations",
        "streams": f"/apps/{app}/streams",
    }


def test_pages_fit_a_phone_and_pass_axe(
    live: LiveServer, browser_context: Any, tmp_path: Path
) -> None:
    campaign_id = _seed(live, tmp_path)
    page: Page = browser_context.new_page()
    page.goto(live.url + "/signin")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert _violations(page) == []
    page.get_by_label("Admin token").fill(live.admin_token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Apps")).to_be_visible()

    ARTIFACTS.mkdir(exist_ok=True)
    found: dict[str, Any] = {}
    for width, height in ((1280, 900), (360, 740)):
        page.set_viewport_size({"width": width, "height": height})
        for name, path in _pages(live, campaign_id).items():
            response = page.goto(live.url + path)
            assert response is not None and response.status == 200, (name, path)
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(ARTIFACTS / f"a11y-{name}-{width}.png"), full_page=True)
            if width == 360:
                overflow = page.evaluate(
                    "document.documentElement.scrollWidth - document.documentElement.clientWidth"
                )
                if overflow > 0:
                    found[f"{name}@{width}: horizontal scroll"] = overflow
            smallest = page.evaluate(
                "Math.min(Infinity, ...Array.from(document.querySelectorAll('svg.chart text'),"
                " t => parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a))"
            )
            if smallest < 11:
                found[f"{name}@{width}: chart text"] = smallest
            if violations := _violations(page):
                found[f"{name}@{width}"] = violations
    assert not found, json.dumps(found, indent=1)
