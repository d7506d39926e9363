"""Campaign results in headless Chromium: the Goal step, then conversions measured.

A campaign with two treatments (A, B) and a 20% holdout gets its conversion event in the
editor's fourth step, Goal. Devices running the real SDK against a live server (with its
pipeline) trigger it and then convert, treatment A more often than B or the control group. The
results page must show, per group, what this test computes on its own from what it drove:
exposed, converted, the rate and its 95% Wilson interval, the lift against control and its 95%
log interval, and a verdict only where that interval excludes 0.
"""

from __future__ import annotations

import csv
import io
import math
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from dash_support import ARTIFACTS, LiveServer
from playwright.sync_api import Page, expect

from tidings.core.campaigns import holdout_bucket, parse_campaign, pick_treatment
from tidings.sdk import Tidings

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CAMPAIGN_ID = "c-upgrade-results"
DEVICES = 50
Z = 1.959963984540054
# Of each group's k-th device (k = 0, 1, ...): which convert. A converts most often.
CONVERTS = {"A": lambda k: k % 10 < 9, "B": lambda k: k % 10 < 3, None: lambda k: k % 10 < 2}


def _wilson(x: int, n: int) -> tuple[float, float]:
    p = x / n
    d = 1 + Z * Z / n
    c = (p + Z * Z / (2 * n)) / d
    h = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / d
    return max(0.0, c - h), min(1.0, c + h)


def _lift(x: int, n: int, cx: int, cn: int) -> tuple[float, tuple[float, float] | None]:
    ratio = (x / n) / (cx / cn)
    if x == 0:
        return ratio - 1, None
    se = math.sqrt(1 / x - 1 / n + 1 / cx - 1 / cn)
    return ratio - 1, (ratio * math.exp(-Z * se) - 1, ratio * math.exp(Z * se) - 1)


def _pct(v: float, signed: bool = False) -> str:
    return f"{v * 100:+.1f}%" if signed else f"{v * 100:.1f}%"


def _campaign() -> dict[str, Any]:
    return {
        "id": CAMPAIGN_ID,
        "name": "Upgrade prompt",
        "type": "DeepLink",
        "triggering": {
            "event": {"name": "Open", "type": "custom", "params": []},
            "repeat": {"repeatType": "every", "repeatEntity": "event", "repeatValue": [1]},
        },
        "targeting": [],
        "content": {"url": "acme://upgrade"},
        "holdoutPercent": 20,
        "treatments": [
            {"id": "A", "sizePercent": 50, "content": {"url": "acme://upgrade?v=a"}},
            {"id": "B", "sizePercent": 50, "content": {"url": "acme://upgrade?v=b"}},
        ],
    }


def _group(device_id: str) -> str | None:
    campaign = parse_campaign(_campaign())
    if holdout_bucket(CAMPAIGN_ID, device_id) < campaign.holdout_percent * 100:
        return None
    treatment = pick_treatment(CAMPAIGN_ID, device_id, campaign.treatments)
    assert treatment is not None
    return treatment.id


def _drive_device(live: LiveServer, directory: Path, device_id: str, converts: bool) -> None:
    device = Tidings(
        **live.sdk_kwargs(),
        data_dir=directory,
        upload_interval=0.05,
        device={"device_id": device_id, "country": "US", "app_version": "3.0.0"},
    )
    configured = threading.Event()
    device.set_system_events_listener(
        lambda e: configured.set() if e.name == "ConfigFetchFinished" else None
    )
    try:
        assert configured.wait(10), f"{device_id} never fetched its configuration"
        device.track("Open")
        assert device.flush(10)
        if converts:
            device.track("PurchaseCompleted", {"plan": "annual"})
            device.track("PurchaseCompleted", {"plan": "annual"})  # a repeat conversion
            assert device.flush(10)
    finally:
        device.close()


def _admin(live: LiveServer, method: str, path: str, body: Any = None) -> Any:
    r = httpx.request(
        method,
        live.url + path,
        json=body,
        headers={"Authorization": f"Bearer {live.admin_token}"},
        timeout=10,
    )
    assert r.status_code < 300, r.text
    return r.json()


def _sign_in(page: Page, live: LiveServer) -> None:
    page.goto(live.url + "/signin")
    page.get_by_label("Admin token").fill(live.admin_token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Apps")).to_be_visible()


@pytest.fixture
def live_with_pipeline(tmp_path: Path) -> Any:
    server = LiveServer(tmp_path / "server")
    server.start(pipeline=True)
    try:
        yield server
    finally:
        server.stop()


def test_results_show_rates_lift_and_interval_per_group(
    live_with_pipeline: LiveServer, browser_context: Any, tmp_path: Path
) -> None:
    live = live_with_pipeline
    app_id = live.app["appId"]
    _admin(live, "POST", f"/admin/api/apps/{app_id}/campaigns", _campaign())

    # The Goal step: a conversion event, checked by the campaign validator, then saved.
    page: Page = browser_context.new_page()
    _sign_in(page, live)
    page.goto(f"{live.url}/campaigns/{CAMPAIGN_ID}")
    expect(page.get_by_role("heading", name="4 Goal")).to_be_visible()
    page.get_by_role("button", name="Add conversion event").click()
    page.locator("#f-conversions-0-event-otherName").fill("PurchaseCompleted")
    window = page.get_by_label("Within (hours)")
    window.fill("0")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#f-conversions-0-windowHours-error")).to_contain_text("more than 0")
    expect(window).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#error-summary")).to_contain_text("conversions[0].windowHours")
    page.get_by_label("Within (hours)").fill("24")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Saved.")
    stored = _admin(live, "GET", f"/admin/api/campaigns/{CAMPAIGN_ID}")
    assert stored["conversions"] == [
        {
            "event": {"name": "PurchaseCompleted", "type": "custom", "params": []},
            "windowHours": 24,
        }
    ]
    _admin(live, "POST", f"/admin/api/campaigns/{CAMPAIGN_ID}/state", {"state": "Active"})

    # Devices: each triggers the campaign; some then convert, as planned per group.
    plan: dict[str | None, list[bool]] = {"A": [], "B": [], None: []}
    for i in range(DEVICES):
        device_id = f"device-{i:02d}"
        group = _group(device_id)
        converts = CONVERTS[group](len(plan[group]))
        plan[group].append(converts)
        _drive_device(live, tmp_path / device_id, device_id, converts)
    assert all(plan.values()), "every group has devices"

    # The pipeline attributes in the background: wait until every exposure is counted.
    deadline = time.monotonic() + 30
    while True:
        body = _admin(live, "GET", f"/admin/api/campaigns/{CAMPAIGN_ID}/results")
        converted = sum(g["goals"][0]["converted"] for g in body["groups"])
        exposed = sum(g["exposed"] for g in body["groups"])
        if (exposed, converted) == (DEVICES, sum(sum(v) for v in plan.values())):
            break
        assert time.monotonic() < deadline, (
            [(g["treatmentId"], g["exposed"], g["goals"][0]["converted"]) for g in body["groups"]],
            {k: (len(v), sum(v)) for k, v in plan.items()},
        )
        time.sleep(0.2)

    page.goto(f"{live.url}/campaigns/{CAMPAIGN_ID}/results")
    expect(page.get_by_role("heading", name="Results: Upgrade prompt")).to_be_visible()
    expect(page.locator("#range-30")).to_have_attribute("aria-current", "page")
    table = page.locator("#results-0")
    control_n, control_x = len(plan[None]), sum(plan[None])
    verdicts = []
    for group, outcomes in plan.items():
        n, x = len(outcomes), sum(outcomes)
        row = table.locator(f"tr[data-group='{group or 'control'}']")
        expect(row.locator(".exposed")).to_have_text(str(n))
        expect(row.locator(".converted")).to_have_text(str(x))
        expect(row.locator(".repeats")).to_have_text(str(x))
        expect(row.locator(".rate")).to_have_text(_pct(x / n))
        low, high = _wilson(x, n)
        expect(row.locator(".interval")).to_have_text(f"{_pct(low)} to {_pct(high)}")
        if group is None:
            continue
        value, interval = _lift(x, n, control_x, control_n)
        expect(row.locator(".lift")).to_have_text(_pct(value, signed=True))
        shown = (
            "—" if interval is None else f"{_pct(interval[0], True)} to {_pct(interval[1], True)}"
        )
        expect(row.locator(".lift-interval")).to_have_text(shown)
        if interval is not None and (interval[0] > 0 or interval[1] < 0):
            verdicts.append(f"Treatment {group}")
    verdict_texts = page.locator("#goal-0 .verdict").all_inner_texts()
    assert [v.split(" converts")[0] for v in verdict_texts] == verdicts
    assert "Treatment A" in verdicts, "A converts far more often than control: a clear verdict"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard-results.png"), full_page=True)

    # Every day of the range is on the axis; the CSV holds the same numbers.
    days = page.locator("#results-by-day tbody tr")
    expect(days).to_have_count(30)
    csv_url = page.locator("#results-csv").get_attribute("href")
    assert csv_url is not None
    response = page.request.get(live.url + csv_url)
    assert response.ok and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text())))
    assert len(rows) == 30 * 3
    assert sum(int(r["exposed"]) for r in rows) == DEVICES
    a_rows = [r for r in rows if r["treatment_id"] == "A"]
    assert sum(int(r["converted"]) for r in a_rows) == sum(plan["A"])

    # The range picker: presets, and a custom range without exposures (zeros, no verdict).
    page.get_by_role("link", name="Last 7 days").click()
    expect(page.locator("#range-7")).to_have_attribute("aria-current", "page")
    expect(days).to_have_count(7)
    long_ago = (datetime.now(UTC) - timedelta(days=400)).date()
    page.get_by_label("From", exact=True).fill(long_ago.isoformat())
    page.get_by_label("To", exact=True).fill((long_ago + timedelta(days=2)).isoformat())
    page.get_by_role("button", name="Show custom range").click()
    expect(page.locator("#range-shown")).to_contain_text("(custom)")
    expect(days).to_have_count(3)
    expect(table.locator(".exposed")).to_have_text(["0", "0", "0"])
    expect(page.locator("#goal-0")).to_contain_text("No verdict yet")
