"""The dashboard in headless Chromium, end to end against a live server and the real SDK.

A product manager signs in, builds a campaign in the Who / When / What editor (and sees a
validation error next to the field that caused it), dry-runs it, starts it; a device running the
SDK then sends events, and the live stream and the campaign's stats pick them up. Each main page
is saved as a screenshot in ``test-artifacts/``.
"""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Any

import pytest
from dash_support import ARTIFACTS, LiveServer
from playwright.sync_api import Page, expect

from tidings.sdk import Tidings

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"dashboard-{name}.png"), full_page=True)


def _device(live: LiveServer, directory: Path, device_id: str) -> Tidings:
    return Tidings(
        **live.sdk_kwargs(),
        data_dir=directory,
        upload_interval=0.05,
        device={"device_id": device_id, "country": "US", "app_version": "2.1.0"},
    )


def _sign_in(page: Page, live: LiveServer) -> None:
    page.goto(live.url + "/")
    expect(page).to_have_url(re.compile(r"/signin\?next=%2F$"))
    _shot(page, "signin")
    page.get_by_label("Admin token").fill("not-a-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#token-error")).to_contain_text("unknown or revoked")
    page.get_by_label("Admin token").fill(live.admin_token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Apps")).to_be_visible()


def test_build_start_and_watch_a_campaign(
    live: LiveServer, browser_context: Any, tmp_path: Path
) -> None:
    app_id = live.app["appId"]
    # A first device has already sent the event the campaign will trigger on.
    first = _device(live, tmp_path / "first-device", "device-early")
    first.track("PurchaseCompleted", {"plan": "annual", "price": 29.99})
    first.set_custom_property("plan_tier", "pro")
    assert first.flush(10)
    first.close()

    page: Page = browser_context.new_page()
    _sign_in(page, live)
    _shot(page, "home")
    page.get_by_role("link", name="Acme iOS").click()
    expect(page.get_by_role("heading", name="Campaigns")).to_be_visible()

    # The catalog knows the event and the custom property.
    page.get_by_role("link", name="Events catalog").click()
    expect(page.locator("table").first).to_contain_text("PurchaseCompleted")
    expect(page.locator("table").nth(1)).to_contain_text("plan_tier")
    _shot(page, "catalog")

    # Build the campaign: Who, When, What.
    page.get_by_role("link", name="Campaigns", exact=True).click()
    page.get_by_role("link", name="New campaign").click()
    page.get_by_label("Name", exact=True).fill("Annual thank-you")
    page.get_by_label("Add a rule").select_option("country")
    page.get_by_role("button", name="Add rule").click()
    page.get_by_label("Match").select_option("exclude")
    page.get_by_label("Country codes").fill("xx, yy")
    page.get_by_label("Triggering event").select_option("PurchaseCompleted")
    page.get_by_role("button", name="Add property filter").last.click()
    page.get_by_label("Property", exact=True).last.fill("plan")
    # Only the operators that fit the value type are offered.
    greater = page.locator("#f-triggering-event-params-0-compareType option[value='>']")
    expect(greater).to_be_disabled()
    page.get_by_label("Value type").select_option("number")
    expect(greater).to_be_enabled()
    page.get_by_label("Value type").select_option("string")
    page.get_by_label("Value", exact=True).last.fill("annual")
    repeat = page.locator("#f-triggering-repeat-repeatValue")
    repeat.fill("0")
    page.get_by_label("Deep link URL").first.fill("acme://thanks?plan=annual")
    page.get_by_role("button", name="Save as draft").click()

    # The core's error is shown next to the field, tied to it for assistive technology.
    error = page.locator("#f-triggering-repeat-repeatValue-error")
    expect(error).to_contain_text("enter a whole number of at least 1")
    expect(repeat).to_have_attribute("aria-invalid", "true")
    expect(repeat).to_have_attribute("aria-describedby", re.compile("repeatValue-error"))
    expect(page.locator("#error-summary")).to_contain_text("Repeat: occurrences")
    expect(page.locator("#error-summary")).to_be_focused()
    _shot(page, "editor-error")

    # Country codes are checked too, in the same save.
    countries = page.locator("#f-targeting-0-country-values-error")
    expect(countries).to_contain_text("'XX' is not an ISO 3166-1 alpha-2 country code")
    expect(countries).to_contain_text("'YY' is not")
    expect(page.locator("#error-summary")).to_contain_text("Rule 1 (Country) values")
    page.get_by_label("Country codes").fill("gb, fr")
    repeat.fill("1")
    page.get_by_role("button", name="Run dry run").click()
    expect(page.locator("#dry-result")).to_contain_text("3 time(s) the campaign would fire")
    _shot(page, "editor-dry-run")
    page.get_by_role("button", name="Save as draft").click()
    expect(page.get_by_role("status")).to_contain_text("Saved.")
    expect(page.locator("#f-targeting-0-country-values")).to_have_value("GB, FR")

    # Start it from the list (Draft tab → Active tab).
    page.get_by_role("link", name="Campaigns", exact=True).click()
    page.get_by_role("link", name=re.compile("^Draft")).click()
    row = page.get_by_role("row", name=re.compile("Annual thank-you"))
    # Starting asks first; declining leaves it a Draft.
    page.once("dialog", lambda dialog: dialog.dismiss())
    row.get_by_role("button", name=re.compile("^Start")).click()
    expect(row).to_contain_text("Draft")
    asked: list[str] = []
    page.once("dialog", lambda dialog: asked.append(dialog.message) or dialog.accept())
    row.get_by_role("button", name=re.compile("^Start")).click()
    expect(page.locator("#state-banner")).to_contain_text("“Annual thank-you” is now Active")
    assert asked and asked[0].startswith("Start “Annual thank-you”?")
    page.get_by_role("link", name=re.compile("^Active")).click()
    row = page.get_by_role("row", name=re.compile("Annual thank-you"))
    expect(row).to_contain_text("Active")
    _shot(page, "campaigns")
    stats_url = row.get_by_role("link", name="Stats").get_attribute("href")
    assert stats_url is not None

    # Watch the live stream while a second device (which fetches the now-active campaign)
    # sends matching events.
    page.get_by_role("link", name="Live stream").click()
    # System events (CampaignShown among them) are hidden until asked for.
    page.get_by_label("Show system events").check()
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#live-status")).to_contain_text("Live")
    shown: list[str] = []
    device = _device(live, tmp_path / "second-device", "device-live")
    device.register_deep_link_listener(lambda url, info: shown.append(url) or True)
    configured = threading.Event()
    device.set_system_events_listener(
        lambda e: configured.set() if e.name == "ConfigFetchFinished" else None
    )
    assert configured.wait(10), "the device never fetched its configuration"
    device.track("PurchaseCompleted", {"plan": "annual", "price": 29.99})
    device.track("PurchaseCompleted", {"plan": "monthly", "price": 2.99})
    device.track("PurchaseCompleted", {"plan": "annual", "price": 29.99})
    assert device.flush(10)
    stream = page.locator("#stream tbody")
    expect(stream).to_contain_text("device-live")
    expect(stream).to_contain_text("CampaignShown")
    _shot(page, "stream")

    # Filter the stream by event name and device.
    page.get_by_label("Event name").fill("CampaignShown")
    page.get_by_label("Device id").fill("device-live")
    page.get_by_role("button", name="Filter").click()
    expect(stream.locator("tr td:nth-child(2)")).to_have_text(["CampaignShown"] * 2)
    device.close()

    assert shown == ["acme://thanks?plan=annual"] * 2
    page.goto(live.url + stats_url)
    expect(page.locator("#total-success")).to_have_text("2")
    expect(page.locator("#total-shown")).to_have_text("2")
    expect(page.locator("svg.chart").first).to_have_attribute(
        "aria-label", "Decisions per day, by status"
    )
    _shot(page, "stats")

    # Stop it; delete it.
    page.goto(f"{live.url}/apps/{app_id}/campaigns?state=Active")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("row", name=re.compile("Annual thank-you")).get_by_role(
        "button", name=re.compile("^Stop")
    ).click()
    expect(page.locator("#state-banner")).to_contain_text("is now Stopped")
    page.get_by_role("link", name=re.compile("^Stopped")).click()
    expect(page.get_by_role("row", name=re.compile("Annual thank-you"))).to_contain_text("Stopped")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("row", name=re.compile("Annual thank-you")).get_by_role(
        "button", name=re.compile("^Delete")
    ).click()
    expect(page.get_by_role("status")).to_contain_text("Campaign deleted.")

    # A stream sink, added from its page, runs until paused.
    page.get_by_role("link", name="Stream sinks").click()
    sink = {"kind": "jsonl", "name": "Local files", "settings": {"directory": str(tmp_path)}}
    page.get_by_label("Configuration (JSON)").fill(json.dumps(sink))
    page.get_by_role("button", name="Add", exact=True).click()
    row = page.get_by_role("row", name=re.compile("Local files"))
    expect(row).to_contain_text("Running")
    row.get_by_role("button", name=re.compile("^Pause")).click()
    expect(page.get_by_role("row", name=re.compile("Local files"))).to_contain_text("Paused")
    _shot(page, "streams")

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/signin$"))
    page.goto(f"{live.url}/apps/{app_id}/campaigns")
    expect(page).to_have_url(re.compile(r"/signin\?next="))
