"""The dashboard's first run in headless Chromium: from an empty database to the first event.

An admin signs in to a server that has nothing but an admin token, creates a project and an app,
reads the app's keys and snippets from the page (shown once), sends events with the real SDK
and with Segment's HTTP API using those keys, and sees "Waiting for the first event" turn into
the events, live.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from dash_support import ARTIFACTS, LiveServer
from playwright.sync_api import Page, expect

from tidings.sdk import Tidings


@pytest.fixture
def empty(tmp_path: Path) -> Iterator[LiveServer]:
    server = LiveServer(tmp_path / "server", with_app=False)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"dashboard-first-run-{name}.png"), full_page=True)


def test_first_run_from_an_empty_server_to_the_first_event(
    empty: LiveServer, browser_context: Any, tmp_path: Path
) -> None:
    page: Page = browser_context.new_page()
    page.goto(empty.url + "/")
    page.get_by_label("Admin token").fill(empty.admin_token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#first-run")).to_contain_text("No project yet")
    _shot(page, "empty")

    # A project: an empty name is refused next to the field, then it is created.
    page.get_by_role("button", name="Create project").click()
    expect(page.locator("#project-name-error")).to_have_text("Project name is required.")
    page.get_by_label("Project name").fill("Beta")
    page.get_by_role("button", name="Create project").click()
    expect(page.get_by_role("heading", name="Beta")).to_be_visible()

    # An app in it.
    page.get_by_label("App name").fill("Beta for Python")
    page.get_by_label("Platform").fill("python")
    page.get_by_role("button", name="Create app").click()
    expect(page.get_by_role("heading", name="Beta for Python is ready")).to_be_visible()
    keys = {
        name: page.locator(f"#key-{name}").inner_text()
        for name in ("app-id", "public", "secret", "write")
    }
    assert all(keys.values()), keys
    python = page.locator("#snippet-python")
    for value in (keys["app-id"], keys["public"], keys["secret"], empty.url):
        expect(python).to_contain_text(value)
    expect(page.locator("#snippet-segment")).to_contain_text(keys["write"])
    expect(page.locator("#snippet-http")).to_contain_text(f"{empty.url}/v1/track")
    status = page.locator("#first-events-status")
    expect(status).to_have_text("Waiting for the first event…")
    _shot(page, "keys")

    # The app sends its first events with the keys from the page.
    with Tidings(
        app_id=keys["app-id"],
        api_key_public=keys["public"],
        api_key_secret=keys["secret"],
        backend_url=empty.url,
        data_dir=tmp_path / "device",
        device={"device_id": "first-device"},
    ) as client:
        client.track("TutorialFinished", {"step": 3})
        assert client.flush(10)
    expect(status).to_contain_text("First event received")
    expect(page.locator("#first-events-list")).to_contain_text("TutorialFinished")
    expect(page.locator("#first-events-list")).to_contain_text("first-device")

    reply = httpx.post(
        f"{empty.url}/v1/track",
        auth=(keys["write"], ""),
        json={"userId": "user-1", "event": "SegmentHello"},
        timeout=10,
    )
    assert reply.status_code == 200, reply.text
    expect(page.locator("#first-events-list")).to_contain_text("SegmentHello")
    _shot(page, "live")

    # The secret was shown once: the app's pages never show it again.
    page.get_by_role("link", name="Apps").click()
    page.get_by_role("link", name="Beta for Python").click()
    expect(page.get_by_role("heading", name="Campaigns")).to_be_visible()
    assert keys["secret"] not in page.content()
    page.goto(empty.url + "/")
    assert keys["secret"] not in page.content()
    expect(page.get_by_role("row", name=re.compile("Beta for Python"))).to_contain_text("python")
