"""``tidings simulate`` through the real console script."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from cli_support import tidings


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return tidings(*args)


def write(tmp_path: Path, doc: object) -> Path:
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(doc))
    return path


def test_prints_one_json_object_per_event(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {
            "steps": [
                {"at": "2026-11-28T10:00:00Z", "do": "launch"},
                {
                    "at": "+5s",
                    "do": "track",
                    "name": "PurchaseCompleted",
                    "properties": {"plan": "annual"},
                },
                {"at": "+1h", "do": "terminate"},
            ]
        },
    )
    proc = run("simulate", str(path))
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [line["name"] for line in lines] == [
        "SessionStarted",
        "SdkInitialized",
        "ConfigFetchStarted",
        "ConfigFetchFinished",
        "PurchaseCompleted",
        "EventTriggered",
        "SessionFinished",
    ]
    assert lines[4]["timestamp"] == 1795860005000
    assert lines[4]["properties"] == {"plan": "annual"}
    assert lines[-1]["timestamp"] == 1795860005000 + 3_600_000
    assert all(
        {"id", "name", "type", "timestamp", "sessionId", "properties"} <= set(x) for x in lines
    )


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("{not json", "not valid JSON"),
        (json.dumps({"steps": [{"at": "2026-11-28T10:00:00Z", "do": "fly"}]}), "steps[0].do"),
    ],
)
def test_malformed_scenario_exits_2_naming_the_field(
    tmp_path: Path, content: str, needle: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    proc = run("simulate", str(path))
    assert proc.returncode == 2
    assert needle in proc.stderr
    assert "Traceback" not in proc.stderr


def test_missing_file_exits_2(tmp_path: Path) -> None:
    proc = run("simulate", str(tmp_path / "nope.json"))
    assert proc.returncode == 2
    assert "cannot read" in proc.stderr


CAMPAIGN = {
    "id": "c_abc",
    "name": "Thanks",
    "type": "DeepLink",
    "state": "Active",
    "triggering": {"event": {"name": "PurchaseCompleted", "type": "custom", "params": []}},
    "targeting": [],
    "content": {"url": "myapp://thanks"},
}


def test_decisions_are_printed_only_when_asked(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {
            "campaigns": [CAMPAIGN],
            "steps": [
                {"at": "2026-11-28T10:00:00Z", "do": "launch"},
                {"at": "+5s", "do": "track", "name": "PurchaseCompleted"},
            ],
        },
    )
    plain = [json.loads(x) for x in run("simulate", str(path)).stdout.splitlines()]
    assert not any("decision" in line for line in plain)
    full = [json.loads(x) for x in run("simulate", "--decisions", str(path)).stdout.splitlines()]
    names = [line.get("name", "decision") for line in full]
    assert names[-4:] == ["PurchaseCompleted", "EventTriggered", "decision", "CampaignShown"]
    decision = full[-2]["decision"]
    assert decision["campaignId"] == "c_abc"
    assert decision["status"] == "SUCCESS"
    assert decision["treatmentId"] == "0"
    assert decision["source"] == "PurchaseCompleted"
    assert decision["eventId"] == full[-4]["id"]
    assert full[3]["properties"] == {
        "campaignCount": 1,
        "success": True,
        "campaigns": [{"id": "c_abc", "name": "Thanks"}],
    }


def test_invalid_campaign_exits_2_with_its_path(tmp_path: Path) -> None:
    bad = dict(CAMPAIGN)
    bad["triggering"] = {
        "event": CAMPAIGN["triggering"]["event"],
        "repeat": {"repeatType": "every", "repeatEntity": "event", "repeatValue": [0]},
    }
    path = write(
        tmp_path,
        {"campaigns": [bad], "steps": [{"at": "2026-11-28T10:00:00Z", "do": "launch"}]},
    )
    proc = run("simulate", str(path))
    assert proc.returncode == 2
    assert "campaigns[0].triggering.repeat.repeatValue[0]" in proc.stderr


def test_explain_adds_why_lines_and_leaves_the_rest_unchanged(tmp_path: Path) -> None:
    campaign = {
        "id": "c1",
        "name": "Offer",
        "type": "DeepLink",
        "state": "Active",
        "triggering": {"event": {"name": "Buy", "type": "custom", "params": []}},
        "targeting": [{"country": {"type": "include", "values": ["PL"]}}],
        "content": {"url": "app://offer"},
    }
    path = write(
        tmp_path,
        {
            "device": {"deviceId": "d1", "platform": "iOS", "country": "DE"},
            "campaigns": [campaign],
            "steps": [
                {"at": "2026-11-28T10:00:00Z", "do": "launch"},
                {"at": "+5s", "do": "track", "name": "Buy"},
            ],
        },
    )
    plain = run("simulate", "--decisions", str(path))
    explained = run("simulate", "--decisions", "--explain", str(path))
    assert plain.returncode == explained.returncode == 0, explained.stderr
    lines = [json.loads(line) for line in explained.stdout.splitlines()]
    whys = [line["noDecision"] for line in lines if "noDecision" in line]
    assert [w["reason"] for w in whys] == ["Who rule 1 (Country) did not match"]
    kept = [json.dumps(line) for line in lines if "noDecision" not in line]
    assert kept == [json.dumps(json.loads(line)) for line in plain.stdout.splitlines()]
