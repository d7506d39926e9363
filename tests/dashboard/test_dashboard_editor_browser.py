"""The campaign editor in headless Chromium: every problem of a save at once, where focus goes,
and two people editing one campaign."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from dash_support import ARTIFACTS, LiveServer
from playwright.sync_api import Page, expect

from tidings.sdk import Tidings

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def _sign_in(page: Page, live: LiveServer) -> None:
    page.goto(live.url + "/signin")
    page.get_by_label("Admin token").fill(live.admin_token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Apps")).to_be_visible()


def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"editor-{name}.png"), full_page=True)


def test_every_problem_is_listed_after_one_save(live: LiveServer, browser_context: Any) -> None:
    page: Page = browser_context.new_page()
    _sign_in(page, live)
    page.goto(f"{live.url}/apps/{live.app['appId']}/campaigns/new")
    page.get_by_label("Name", exact=True).fill("Many mistakes")
    page.locator("#f-triggering-repeat-repeatValue").fill("0")
    page.locator("#f-triggering-limit-limit").fill("2")
    page.locator("#f-triggering-limit-interval").fill("0")
    page.locator("#f-triggering-limit-count").fill("-1")
    page.get_by_label("Holdout %").fill("150")
    page.get_by_label("Priority").fill("1.5")
    page.get_by_label("Deep link URL").first.fill("javascript:alert(1)")
    page.get_by_role("button", name="Save as draft").click()

    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    wanted = {
        "Trigger event": "enter a value",
        "Repeat: occurrences": "enter a whole number of at least 1",
        "Frequency limit": "choose per session or per device",
        "Frequency window": "enter a whole number of at least 1",
        "Frequency window unit": "choose a unit for the window",
        "Total shows": "enter a whole number of at least 0",
        "Holdout %": "must be between 0 and 100",
        "Priority": "enter a whole number",
        "Deep link URL": "scheme is not allowed",
    }
    items = summary.locator("li")
    expect(items).to_have_count(len(wanted))
    expect(summary.get_by_role("heading")).to_contain_text(f"{len(wanted)} problems")
    for label, message in wanted.items():
        expect(
            summary.locator("li", has=page.get_by_role("link", name=label, exact=True))
        ).to_contain_text(message)
    _shot(page, "all-errors")

    # Each summary entry leads to its field, and focus goes there.
    summary.get_by_role("link", name="Frequency limit", exact=True).click()
    expect(page.locator("#f-triggering-limit-limitType")).to_be_focused()
    expect(page.locator("#f-triggering-limit-limitType")).to_have_attribute("aria-invalid", "true")
    summary.get_by_role("link", name="Holdout %", exact=True).click()
    expect(page.get_by_label("Holdout %")).to_be_focused()
    assert page.evaluate("window.scrollY") > 0


def test_add_rule_moves_focus_to_the_new_rule(live: LiveServer, browser_context: Any) -> None:
    page: Page = browser_context.new_page()
    _sign_in(page, live)
    page.goto(f"{live.url}/apps/{live.app['appId']}/campaigns/new")
    for kind in ("country", "appVersion"):
        page.get_by_label("Add a rule").select_option(kind)
        page.get_by_role("button", name="Add rule").click()
    rule = page.locator("#f-targeting-1")
    expect(rule).to_be_focused()
    expect(rule).to_contain_text("App version")
    assert page.evaluate("window.scrollY") > 0, "the page stayed at the new rule, not the top"
    assert re.search(r"/campaigns/new$", page.url)


def _create_campaign(page: Page, live: LiveServer, name: str) -> str:
    page.goto(f"{live.url}/apps/{live.app['appId']}/campaigns/new")
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("or a custom event not seen yet").first.fill("PurchaseCompleted")
    page.get_by_label("Deep link URL").first.fill("acme://thanks")
    page.get_by_role("button", name="Save as draft").click()
    expect(page.get_by_role("status")).to_contain_text("Saved.")
    return page.url.split("?")[0]


def test_a_save_over_someone_elses_edit_says_what_changed(
    live: LiveServer, browser_context: Any
) -> None:
    alice: Page = browser_context.new_page()
    _sign_in(alice, live)
    url = _create_campaign(alice, live, "Spring sale")
    bob: Page = browser_context.new_page()
    bob.goto(url)
    alice.goto(url)

    # Alice renames it and raises the priority; Bob, whose editor is older, edits the link.
    alice.get_by_label("Name", exact=True).fill("Spring sale (EU)")
    alice.get_by_label("Priority").fill("5")
    alice.get_by_role("button", name="Save", exact=True).click()
    expect(alice.get_by_role("status")).to_contain_text("Saved.")

    bob.get_by_label("Deep link URL").first.fill("acme://spring")
    bob.get_by_role("button", name="Save", exact=True).click()
    conflict = bob.locator("#conflict")
    expect(conflict).to_be_focused()
    expect(conflict).to_contain_text("changed since you opened it")
    rows = conflict.locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(conflict.locator("tr", has_text="Name")).to_contain_text("Spring sale")
    expect(conflict.locator("tr", has_text="Name").locator("td").nth(1)).to_have_text(
        "Spring sale (EU)"
    )
    expect(conflict.locator("tr", has_text="Priority").locator("td").nth(0)).to_have_text("0")
    expect(conflict.locator("tr", has_text="Priority").locator("td").nth(1)).to_have_text("5")
    # Nothing of Bob's was saved, and his edit is still in the form.
    expect(bob.get_by_label("Deep link URL").first).to_have_value("acme://spring")
    _shot(bob, "conflict")
    alice.reload()
    expect(alice.get_by_label("Deep link URL").first).to_have_value("acme://thanks")

    # Saving again replaces Alice's version knowingly.
    bob.get_by_role("button", name="Save", exact=True).click()
    expect(bob.get_by_role("status")).to_contain_text("Saved.")
    expect(bob.get_by_label("Deep link URL").first).to_have_value("acme://spring")
    expect(bob.get_by_label("Name", exact=True)).to_have_value("Spring sale")


SEEDED = [
    ("dev-us-1", "US", "2.1.0"),
    ("dev-us-2", "US", "1.4.0"),
    ("dev-de-1", "DE", "2.0.0"),
    ("dev-pl-1", "PL", "2.2.0"),
    ("dev-pl-2", "PL", "1.0.0"),
    ("dev-fr-1", "FR", "3.0.0"),
]


def _seed_devices(live: LiveServer, directory: Path) -> None:
    """Each device uploads once through the real SDK; the server keeps its profile."""
    for device_id, country, version in SEEDED:
        client = Tidings(
            **live.sdk_kwargs(),
            data_dir=directory / device_id,
            upload_interval=0.05,
            device={"device_id": device_id, "country": country, "app_version": version},
        )
        client.track("AppOpened", {})
        assert client.flush(10)
        client.close()


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("."))


def test_the_audience_estimate_counts_the_devices_that_match(
    live: LiveServer, browser_context: Any, tmp_path: Path
) -> None:
    _seed_devices(live, tmp_path)
    page: Page = browser_context.new_page()
    _sign_in(page, live)
    page.goto(f"{live.url}/apps/{live.app['appId']}/campaigns/new")
    audience = page.locator("#audience")
    expect(audience).to_contain_text(f"{len(SEEDED)} devices ({len(SEEDED)} seen")

    page.get_by_label("Add a rule").select_option("country")
    page.get_by_role("button", name="Add rule").click()
    page.get_by_label("Country codes").fill("US, PL")
    in_countries = [d for d in SEEDED if d[1] in ("US", "PL")]
    expect(audience).to_contain_text(f"{len(in_countries)} devices ({len(in_countries)} seen")
    expect(audience).to_have_attribute("data-devices", str(len(in_countries)))

    page.get_by_label("Add a rule").select_option("appVersion")
    page.get_by_role("button", name="Add rule").click()
    page.locator("#f-targeting-1-appVersion-compareType").select_option("greaterOrEqual")
    page.locator("#f-targeting-1-appVersion-value").fill("2.0")
    wanted = [d for d in in_countries if _version(d[2]) >= (2, 0)]
    expect(audience).to_have_attribute("data-devices", str(len(wanted)))
    expect(audience).to_contain_text(
        f"{len(wanted)} devices ({len(wanted)} seen in the last 30 days)"
    )
    expect(audience).to_contain_text(f"of {len(SEEDED)} devices known")
    _shot(page, "audience")

    # A rule on event history cannot be judged on the server: the estimate says so.
    page.get_by_label("Add a rule").select_option("eventCount")
    page.get_by_role("button", name="Add rule").click()
    page.get_by_label("or a custom event not seen yet").first.fill("PurchaseCompleted")
    expect(audience).to_contain_text("not counted")
    expect(audience).to_contain_text("About")
