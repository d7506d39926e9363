"""An app scripted against ``tidings serve`` (a real server process) through the real admin API,
killed and restarted.

A campaign is created through the admin API (Draft), activated, picked up by the next config fetch
of a fresh app process, fires a deep link, and shows up in the campaign stats and the events
catalog; the app is killed with SIGKILL twice and every event, session and decision arrives on the
server exactly once.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from sdk_harness import LiveServer, ServedProcess

HERE = Path(__file__).parent
TICKS = 150


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServedProcess]:
    live = ServedProcess(tmp_path / "server")
    live.start()
    try:
        yield live
    finally:
        live.stop()


class App:
    """One app process in ``commands`` mode (tests/sdk/sdk_child.py)."""

    def __init__(self, server: LiveServer, data_dir: Path) -> None:
        kwargs = dict(server.client_kwargs(), upload_batch_size=20, upload_interval=0.05)
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(HERE / "sdk_child.py"),
                "commands",
                str(data_dir),
                orjson.dumps(kwargs).decode(),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def send(self, command: str) -> str:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()

    def ticks(self, n: int) -> int:
        """Track ``n`` ticks; the index of the last one whose ``track()`` returned."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(f"ticks {n}\n")
        self.proc.stdin.flush()
        last = -1
        for line in self.proc.stdout:
            if line.strip() == "done":
                break
            last = int(line)
        return last

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()


def restart_and_flush(server: LiveServer, data_dir: Path) -> None:
    kwargs = dict(server.client_kwargs(), upload_interval=0.05)
    done = subprocess.run(
        [sys.executable, str(HERE / "sdk_child.py"), "flush", str(data_dir), orjson.dumps(kwargs)],
        timeout=60,
    )
    assert done.returncode == 0


def catalog(server: LiveServer) -> dict[tuple[str, str], int]:
    rows: list[dict[str, Any]] = server.admin(
        "GET", f"/admin/api/apps/{server.app['appId']}/events"
    )["items"]
    return {(r["name"], r["type"]): int(r["count"]) for r in rows}


@pytest.mark.slow
@pytest.mark.reliability
def test_admin_campaign_reaches_the_app_and_every_count_survives_kills(
    served: ServedProcess, tmp_path: Path
) -> None:
    server = served
    app_id = server.app["appId"]
    created = server.admin(
        "POST",
        f"/admin/api/apps/{app_id}/campaigns",
        {
            "name": "Welcome",
            "type": "DeepLink",
            "triggering": {"event": {"name": "Opened", "type": "custom"}},
            "content": {"url": "myapp://welcome?from=e2e"},
        },
    )
    campaign_id = created["id"]
    assert created["state"] == "Draft"
    data_dir = tmp_path / "device"

    # 1. A draft is not served: the trigger is recorded and delivered, nothing is shown.
    app = App(server, data_dir)
    assert app.send("config") == "0"
    assert app.send("track Opened") == "ok"
    assert app.send("flush") == "True"
    assert not [e for e in server.stored_events() if e["name"] == "CampaignShown"]
    assert app.send("track Opened") == "ok"  # committed, not yet uploaded: the kill must keep it
    app.kill()

    # 2. Activated through the admin API, it fires after the next config fetch (a new process).
    state = server.admin("POST", f"/admin/api/campaigns/{campaign_id}/state", {"state": "Active"})
    assert state["state"] == "Active"
    app = App(server, data_dir)
    assert app.send("config") == "1"
    assert app.send("track Opened") == "ok"
    assert app.send("link") == "myapp://welcome?from=e2e"
    assert app.send("flush") == "True"
    stats = server.campaign_stats(campaign_id)
    assert stats["decisions"] == {"SUCCESS": 1}
    assert stats["shown"] == 1
    seen = catalog(server)
    assert seen[("Opened", "custom")] == 3
    assert seen[("CampaignShown", "system")] == 1
    assert seen[("SessionStarted", "system")] == 2
    assert seen[("SessionFinished", "system")] == 1  # the killed session, finished at restart

    # 3. Killed in the middle of a burst; the restarted app delivers what was left.
    last = app.ticks(TICKS)
    assert last == TICKS - 1
    app.kill()
    restart_and_flush(server, data_dir)

    stored = server.stored_events()
    ids = [e["id"] for e in stored]
    assert len(ids) == len(set(ids)), "an event arrived twice"
    names = Counter(e["name"] for e in stored)
    assert Counter(e["properties"]["i"] for e in stored if e["name"] == "Tick") == Counter(
        range(TICKS)
    )
    assert names["Opened"] == 3
    assert names["EventTriggered"] == 3 + TICKS
    assert names["CampaignShown"] == 1
    assert names["SessionStarted"] == 3
    assert (
        names["SessionFinished"] == 3
    )  # two killed sessions (finished on the next start), one closed
    sessions = {e["sessionId"] for e in stored}
    assert len(sessions) == 3
    decisions = server.stored_decisions()
    assert [d["status"] for d in decisions] == ["SUCCESS"]
    assert server.campaign_stats(campaign_id)["decisions"] == {"SUCCESS": 1}
    seen = catalog(server)
    for (name, kind), count in Counter((e["name"], e["type"]) for e in stored).items():
        assert seen[(name, kind)] == count, f"catalog count of {name}"
