"""``tidings campaigns validate`` through the real console script: every problem, and warnings."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

TIDINGS = shutil.which("tidings", path=str(Path(sys.executable).parent)) or "tidings"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TIDINGS, *args], capture_output=True, text=True, timeout=60)


def campaign(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Welcome",
        "type": "DeepLink",
        "state": "Active",
        "triggering": {"event": {"name": "SessionStarted", "type": "system"}},
        "content": {"url": "myapp://welcome"},
    }
    body.update(overrides)
    return body


def write(tmp_path: Path, name: str, doc: object) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def test_every_problem_is_printed_with_its_path(tmp_path: Path) -> None:
    bad = campaign(id="c-1", type="Popup", priority="high", holdoutPercent=101)
    bad["triggering"]["repeat"] = {"repeatType": "every", "repeatEntity": "event"}
    single = write(tmp_path, "single.json", bad)
    listed = write(tmp_path, "list.json", [campaign(id="a"), campaign(id="a", content=None)])
    proc = run("campaigns", "validate", str(single), str(listed))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stdout.splitlines() == [
        f"{single}: type: must be one of DeepLink, RateReview, Webhook",
        f"{single}: priority: must be an integer",
        f"{single}: triggering.repeat.repeatValue: is required",
        f"{single}: holdoutPercent: must be between 0 and 100",
        f"{listed}: [1].content.url: is required for a DeepLink campaign",
        f"{listed}: [1].id: duplicate campaign id 'a' (also [0])",
    ]


def test_no_id_is_fine_and_an_inactive_campaign_is_a_warning(tmp_path: Path) -> None:
    active = write(tmp_path, "active.json", campaign(id="welcome"))
    no_id = write(tmp_path, "no-id.json", campaign())
    drafts = write(
        tmp_path,
        "drafts.json",
        [
            {k: v for k, v in campaign(id="d").items() if k != "state"},
            campaign(id="c", state="Cancel"),
        ],
    )
    proc = run("campaigns", "validate", str(active), str(no_id), str(drafts))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines == [
        f"{active}: ok (1 campaign)",
        f"{no_id}: id: warning: no id: the server assigns one on upload,"
        " tidings simulate needs one",
        f"{no_id}: ok (1 campaign)",
        f"{drafts}: [0].state: warning: no state, so it is a Draft: tidings simulate and"
        ' devices will not fire it (set "state": "Active" to try it)',
        f"{drafts}: [1].state: warning: Cancel campaigns do not fire: tidings simulate and"
        " devices skip them",
        f"{drafts}: ok (2 campaigns)",
    ]
