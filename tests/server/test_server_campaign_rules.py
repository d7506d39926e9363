"""The admin API and ``tidings campaigns validate`` apply the same campaign rules."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from server_support import Harness

pytestmark = pytest.mark.anyio

TIDINGS = shutil.which("tidings", path=str(Path(sys.executable).parent)) or "tidings"

BASE: dict[str, Any] = {
    "name": "Rate us",
    "type": "RateReview",
    "triggering": {"event": {"name": "LevelDone", "type": "custom"}},
}
DOCUMENTS: list[dict[str, Any]] = [
    BASE,
    {**BASE, "id": "picked-by-me"},
    {**BASE, "id": "", "state": "Paused", "createdAt": -1},
    {**BASE, "content": {"url": "x://"}, "quietTime": {"start": "22:00"}, "priority": 1.5},
    {
        **BASE,
        "triggering": {
            "event": {"name": "", "type": "other", "params": [{"value": "x"}, 4]},
            "limit": {"limit": 1},
        },
        "targeting": [{"country": {}}, {"cohort": {"type": "include", "values": ["vip"]}}],
        "treatments": [{"id": "a", "sizePercent": 60}, {"id": "b", "sizePercent": 30}],
    },
]


def _cli_problems(tmp_path: Path, docs: list[dict[str, Any]]) -> list[list[str]]:
    """``path: reason`` lines per document, from one run of the real console script."""
    files = []
    for i, doc in enumerate(docs):
        files.append(tmp_path / f"campaign-{i}.json")
        files[-1].write_text(json.dumps(doc))
    proc = subprocess.run(
        [TIDINGS, "campaigns", "validate", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    out: list[list[str]] = []
    for file in files:
        prefix = f"{file}: "
        lines = [x.removeprefix(prefix) for x in proc.stdout.splitlines() if x.startswith(prefix)]
        out.append([x for x in lines if not x.startswith("ok") and ": warning: " not in x])
    assert proc.returncode == (2 if any(out) else 0), proc.stdout + proc.stderr
    return out


async def test_the_api_and_the_cli_report_the_same_problems(sq: Harness, tmp_path: Path) -> None:
    cli = _cli_problems(tmp_path, DOCUMENTS)
    assert [bool(problems) for problems in cli] == [False, False, True, True, True]
    # The API also checks that a named cohort exists (the command line has no database).
    await sq.store.upsert_cohort(sq.project["id"], "vip", "VIP")
    for doc, expected in zip(DOCUMENTS, cli, strict=True):
        r = await sq.client.post(
            f"/admin/api/apps/{sq.app_id}/campaigns", json=doc, headers=sq.admin
        )
        assert r.status_code in (201, 400), r.text
        api = (
            []
            if r.status_code == 201
            else [f"{e['path']}: {e['message']}" for e in r.json()["error"]["errors"]]
        )
        assert api == expected, doc
