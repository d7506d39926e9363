"""The JavaScript SDK in headless Chromium against a real Tidings server.

A page served by the test (its own loopback origin) loads the built bundle from that same
server; the page talks to the Tidings server cross-origin as a public client. The tests prove
what the SDK promises a web app: a campaign created through the admin API reaches the page,
fires on the matching event and opens its deep link; events arrive exactly once across a
reload in the middle of an upload and across the server being down for a while; a page whose
origin the app does not allow is refused.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_support import PageServer, TidingsServer

from dashboard.dash_support import chromium_context

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def wait_for(what: str, check: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[TidingsServer]:
    s = TidingsServer(tmp_path / "server")
    s.start()
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
def pages(sdkjs_dist: Path) -> Iterator[PageServer]:
    p = PageServer(sdkjs_dist)
    try:
        yield p
    finally:
        p.stop()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    with chromium_context(tmp_path / "chromium-profile") as context:
        context.set_default_timeout(20_000)
        yield context


def allow(server: TidingsServer, *origins: str) -> None:
    server.admin_call(
        "PUT",
        f"/admin/api/apps/{server.app['appId']}/public-client",
        {"enabled": True, "allowedOrigins": list(origins)},
    )


def open_page(browser: Any, url: str, requests: list[str]) -> Any:
    page = browser.new_page()
    page.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda m: print(f"[page] {m.text}"))
    page.goto(url)
    page.wait_for_function("window.tidings !== undefined")
    return page


def config_fetched(page: Any) -> bool:
    script = (
        "window.systemEvents.some(e => e.name == 'ConfigFetchFinished' && e.properties.success)"
    )
    return bool(page.evaluate(script))


def settled(page: Any) -> bool:
    return bool(page.evaluate("tidings.pendingCount() === 0"))


def test_a_campaign_from_the_admin_api_opens_its_deep_link_in_the_page(
    server: TidingsServer, pages: PageServer, browser: Any
) -> None:
    allow(server, pages.origin())
    campaign = server.admin_call(
        "POST",
        f"/admin/api/apps/{server.app['appId']}/campaigns",
        {
            "name": "Annual thanks",
            "type": "DeepLink",
            "triggering": {
                "event": {
                    "name": "PurchaseCompleted",
                    "type": "custom",
                    "params": [{"name": "plan", "value": "annual", "compareType": "==="}],
                }
            },
            "content": {"url": "https://shop.example.com/thanks?offer=annual"},
        },
    )
    server.admin_call("POST", f"/admin/api/campaigns/{campaign['id']}/state", {"state": "Active"})
    requests: list[str] = []
    page = open_page(browser, pages.url(server), requests)
    wait_for("the configuration", lambda: config_fetched(page))
    page.evaluate("tidings.track('PurchaseCompleted', {plan: 'monthly'})")
    page.evaluate("tidings.track('PurchaseCompleted', {plan: 'annual', price: 29.99})")
    opened = wait_for("the deep link", lambda: page.evaluate("window.deepLinks"))
    assert [o["url"] for o in opened] == ["https://shop.example.com/thanks?offer=annual"]
    assert opened[0]["info"]["campaignId"] == campaign["id"]
    assert opened[0]["info"]["triggeringProperties"] == {"plan": "annual", "price": 29.99}
    wait_for("the upload", lambda: settled(page))
    shown = wait_for("CampaignShown on the server", lambda: server.stored("CampaignShown"))
    assert shown[0]["properties"]["campaignId"] == campaign["id"]
    stats = server.admin_call("GET", f"/admin/api/campaigns/{campaign['id']}/stats")
    assert stats["decisions"].get("SUCCESS") == 1
    allowed = (pages.origin(), server.url)
    assert requests and all(url.startswith(allowed) for url in requests), requests


def test_a_reload_in_the_middle_of_an_upload_loses_and_repeats_nothing(
    server: TidingsServer, pages: PageServer, browser: Any
) -> None:
    allow(server, pages.origin())
    page = open_page(browser, pages.url(server), [])
    wait_for("the first upload", lambda: settled(page) and server.recorder.uploads())
    recorder = server.recorder
    assert recorder is not None
    recorder.held.clear()
    recorder.hold_uploads = 2.0
    page.evaluate("for (let i = 0; i < 10; i++) tidings.track('Tap', {i})")
    assert recorder.held.wait(10), "the upload did not start"
    held = recorder.uploads()[-1]
    page.reload()
    page.wait_for_function("window.tidings !== undefined")
    wait_for("the queue to empty", lambda: settled(page), timeout=30)
    taps = wait_for("ten taps", lambda: len(server.stored("Tap")) >= 10 and server.stored("Tap"))
    time.sleep(1.0)  # any late duplicate would be stored by now
    taps = server.stored("Tap")
    assert sorted(t["properties"]["i"] for t in taps) == list(range(10))
    assert len({t["id"] for t in taps}) == 10
    same_id = [u for u in recorder.uploads() if u.request_id == held.request_id]
    assert len(same_id) >= 2, "the new page retried the batch under its first request id"


def test_events_survive_the_server_being_down_and_a_reload(
    server: TidingsServer, pages: PageServer, browser: Any
) -> None:
    allow(server, pages.origin())
    page = open_page(browser, pages.url(server), [])
    wait_for("the configuration", lambda: config_fetched(page))
    server.stop()
    page.evaluate("for (let i = 0; i < 5; i++) tidings.track('Offline', {i})")
    time.sleep(1.5)  # failed attempts, backing off
    assert page.evaluate("tidings.pendingCount()") >= 5
    page.reload()  # the queue is on disk: nothing is lost with the page
    page.wait_for_function("window.tidings !== undefined")
    page.evaluate("for (let i = 5; i < 8; i++) tidings.track('Offline', {i})")
    time.sleep(1.0)
    server.start()
    wait_for("the queue to empty", lambda: settled(page), timeout=40)
    offline = server.stored("Offline")
    assert sorted(e["properties"]["i"] for e in offline) == list(range(8))


def test_a_page_from_an_origin_not_on_the_list_is_refused(
    server: TidingsServer, pages: PageServer, browser: Any
) -> None:
    allow(server, pages.origin("127.0.0.1"))
    page = open_page(browser, pages.url(server, host="localhost"), [])
    page.evaluate("tidings.track('Sneaky')")
    recorder = server.recorder
    assert recorder is not None
    refused = wait_for(
        "a refused upload",
        lambda: [u for u in recorder.uploads() if u.status == 403],
    )
    assert refused[0].origin == pages.origin("localhost")
    assert all(s.status == 403 for s in recorder.seen if s.origin == pages.origin("localhost"))
    error = page.evaluate(
        """async (url) => {
             try { await fetch(url, {method: 'POST', body: '{}'}); return 'answered'; }
             catch (e) { return e.name; }
           }""",
        f"{server.url}/api/v1/public/session?apiKey={server.app['apiKeyPublic']}",
    )
    assert error == "TypeError"  # the browser hides the answer from a refused origin
    assert page.evaluate("tidings.pendingCount()") > 0
    assert server.stored("Sneaky") == []
