"""A running app picks up a started, changed or stopped campaign while in the foreground.

The real server and the real SDK: the campaign is changed through the admin API while the client
runs, and the client's next foreground check (shortened here from 60 s to a fraction of a second)
or its next upload answer brings it in. A proxy in front of the server shows what it cost: 304s
while nothing changed, one 200 per change.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from sdk_harness import LiveServer
from sdk_helpers import MakeClient, SystemEvents, deep_link
from sdk_proxy import LossyProxy

from tidings.sdk import Tidings

DEADLINE_S = 10.0


class Links:
    """Deep links the app was asked to open, with a wait for the next one."""

    def __init__(self, client: Tidings) -> None:
        self.urls: list[str] = []
        self._cond = threading.Condition()
        client.register_deep_link_listener(self._on_link)

    def _on_link(self, url: str, info: Any) -> bool:
        with self._cond:
            self.urls.append(url)
            self._cond.notify_all()
        return True

    def fire_until(self, client: Tidings, url: str) -> float:
        """Track ``Opened`` every 0.1 s until ``url`` is opened; the seconds it took."""
        start = time.monotonic()
        while time.monotonic() - start < DEADLINE_S:
            client.track("Opened")
            with self._cond:
                if self._cond.wait_for(lambda: url in self.urls, 0.1):
                    return time.monotonic() - start
        raise AssertionError(f"{url} was not opened within {DEADLINE_S} s; opened {self.urls}")


def _config_requests(proxy: LossyProxy) -> list[dict[str, str]]:
    """Config requests the server has answered (one still in flight has no status yet)."""
    return [s for s in proxy.seen if s["path"].startswith("/api/v1/config") and "status" in s]


def test_a_started_changed_and_stopped_campaign_reaches_a_running_app(
    server: LiveServer, make_client: MakeClient
) -> None:
    proxy = LossyProxy(server.url)
    try:
        client = make_client(
            server, backend_url=proxy.url, config_check_interval=0.3, upload_interval=3600
        )
        events = SystemEvents(client)
        links = Links(client)
        events.wait_for("ConfigFetchFinished")
        campaign = deep_link("Welcome back", "Opened", "myapp://welcome")
        created = server.admin("POST", f"/admin/api/apps/{server.app['appId']}/campaigns", campaign)
        time.sleep(0.5)  # a few checks while it is only a Draft: nothing changes on the device
        client.track("Opened")
        assert links.urls == []
        assert {s["status"] for s in _config_requests(proxy)[1:]} == {"304"}

        server.admin("POST", f"/admin/api/campaigns/{created['id']}/state", {"state": "Active"})
        links.fire_until(client, "myapp://welcome")
        finished = events.wait_for("ConfigFetchFinished", 2)
        assert [e.properties["campaignCount"] for e in finished] == [0, 1]
        assert len(events.named("ConfigFetchStarted")) == 2  # the 304 checks recorded nothing

        server.admin(
            "PUT",
            f"/admin/api/campaigns/{created['id']}",
            {**campaign, "content": {"url": "myapp://welcome-v2"}},
        )
        links.fire_until(client, "myapp://welcome-v2")

        server.admin("POST", f"/admin/api/campaigns/{created['id']}/state", {"state": "Cancel"})
        events.wait_for("ConfigFetchFinished", 4)
        assert events.named("ConfigFetchFinished")[-1].properties["campaignCount"] == 0
        shown = len(links.urls)
        client.track("Opened")
        time.sleep(0.2)
        assert len(links.urls) == shown

        statuses = [s["status"] for s in _config_requests(proxy)]
        assert statuses.count("200") == 4  # the launch and one per change, the rest were 304
        assert all(s.get("if-none-match") for s in _config_requests(proxy)[1:])
    finally:
        proxy.close()


def test_an_upload_answer_with_a_new_config_revision_triggers_a_check(
    server: LiveServer, make_client: MakeClient
) -> None:
    proxy = LossyProxy(server.url)
    try:
        # The periodic check is an hour away: only the upload answers can bring the campaign.
        client = make_client(server, backend_url=proxy.url, config_check_interval=3600)
        events = SystemEvents(client)
        links = Links(client)
        events.wait_for("ConfigFetchFinished")
        for i in range(3):
            client.track("Ping", {"i": i})
            assert client.flush(5)
        assert len(_config_requests(proxy)) == 1  # uploads with an unchanged revision: no check

        server.create_campaign(deep_link("Hello", "Opened", "myapp://hello"))
        took = links.fire_until(client, "myapp://hello")
        assert took < DEADLINE_S
        assert [s["status"] for s in _config_requests(proxy)] == ["200", "200"]
    finally:
        proxy.close()


def _wait(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        assert time.monotonic() < deadline, "not within the deadline"
        time.sleep(0.05)


def test_no_check_runs_in_the_background(server: LiveServer, make_client: MakeClient) -> None:
    proxy = LossyProxy(server.url)

    def sent() -> list[dict[str, str]]:
        return [s for s in proxy.seen if s["path"].startswith("/api/v1/config")]

    try:
        client = make_client(server, backend_url=proxy.url, config_check_interval=0.1)
        SystemEvents(client).wait_for("ConfigFetchFinished")
        _wait(lambda: len(_config_requests(proxy)) >= 3)  # checking in the foreground
        client.background()
        # A check decided just before ``background()`` may still reach the proxy a moment
        # later: wait until nothing is in flight and nothing new came for three intervals (in
        # the foreground a check would come every interval, so this never settles there).
        quiet: list[tuple[int, float]] = []

        def settled() -> bool:
            count = len(sent())
            if count != len(_config_requests(proxy)) or not quiet or quiet[-1][0] != count:
                quiet.append((count, time.monotonic()))
                return False
            return time.monotonic() - quiet[-1][1] >= 0.3

        _wait(settled)
        in_background = len(sent())
        time.sleep(0.6)  # six check intervals
        assert len(sent()) == in_background
        client.foreground()
        _wait(lambda: len(sent()) > in_background)
    finally:
        proxy.close()
