"""The example terminal app, driven through its stdin against a real server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from sdk_harness import LiveServer

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "terminal_app.py"


def test_terminal_app_end_to_end(server: LiveServer, tmp_path: Path) -> None:
    server.create_campaign(
        {
            "name": "Promo",
            "type": "DeepLink",
            "triggering": {"event": {"name": "Opened", "type": "custom"}},
            "content": {"url": "demo://promo"},
        }
    )
    server.create_campaign(
        {
            "name": "Paywall",
            "type": "DeepLink",
            "triggering": {"event": {"name": "Export", "type": "custom"}},
            "content": {"url": "demo://gate/paywall?accept=1"},
        }
    )
    app = server.app
    commands = "track Opened source=test n=2\nset plan pro\ngated Export\nrecent 2\nflush\nquit\n"
    result = subprocess.run(
        [
            sys.executable,
            str(EXAMPLE),
            "--app-id",
            app["appId"],
            "--public-key",
            app["apiKeyPublic"],
            "--secret-key",
            app["apiKeySecret"],
            "--data-dir",
            str(tmp_path / "demo"),
        ],
        input=commands,
        env={**os.environ, "TIDINGS_SERVER": server.url},  # the default --backend
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "-> deep link: demo://promo (campaign 'Promo')" in out
    assert "-> gate: showing demo://gate/paywall?accept=1" in out
    assert "-> gate decision: proceed (completed)" in out
    assert "-> all events delivered" in out
    recent = [line.split() for line in out.splitlines() if line.startswith("   20")]
    assert len(recent) == 2, out  # ISO 8601 times, not epoch milliseconds
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", r[0]) for r in recent)
    stored = server.stored_events()
    opened = [e for e in stored if e["name"] == "Opened"]
    assert opened[0]["properties"] == {"source": "test", "n": 2}
    resolved = [e["properties"]["result"] for e in stored if e["name"] == "CampaignResolved"]
    assert resolved == ["Completed"]
    assert [e["name"] for e in stored][-1] == "SessionFinished"
