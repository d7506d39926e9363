"""The campaigns in ``examples/campaigns/`` are valid and do what their names say.

Each ``NAME.json`` is checked with ``tidings campaigns validate`` and run through the real
``tidings simulate --decisions --campaigns NAME.json scenarios/NAME.json``; the decisions printed
are the ones the example is there to show.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

TIDINGS = shutil.which("tidings", path=str(Path(sys.executable).parent)) or "tidings"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "campaigns"

EXPECTED: dict[str, list[tuple[str, str, str]]] = {
    # shown on the first session start only (count 1), capped on the next launch
    "welcome-deep-link": [
        ("SUCCESS", "0", "SessionStarted"),
        ("CAMPAIGN_CAP", "0", "SessionStarted"),
    ],
    # nothing in sessions 1 and 2; shown in the 3rd; capped in the 4th
    "rate-review-third-session": [
        ("SUCCESS", "0", "LevelCompleted"),
        ("CAMPAIGN_CAP", "0", "LevelCompleted"),
    ],
    # shown to a free user; a pro user is not targeted at all (no decision)
    "annual-upgrade-gate": [("SUCCESS", "0", "PremiumFeatureTapped")],
    # u-1 gets one treatment, u-2 the other, u-9 falls in the 20% holdout
    "spring-sale-ab-test": [
        ("SUCCESS", "percent-off", "StoreOpened"),
        ("SUCCESS", "free-month", "StoreOpened"),
        ("HOLDOUT", "free-month", "StoreOpened"),
    ],
    # the scenario's device is in the churn-risk cohort
    "win-back-cohort": [("SUCCESS", "0", "SessionStarted")],
}


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TIDINGS, *args], capture_output=True, text=True, timeout=60)


def decisions(campaign: Path, scenario: Path) -> list[tuple[str, str, str]]:
    proc = run("simulate", "--decisions", "--campaigns", str(campaign), str(scenario))
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    return [
        (d["status"], d["treatmentId"], d["source"])
        for d in (line["decision"] for line in lines if "decision" in line)
    ]


def test_every_example_has_a_scenario_and_an_expectation() -> None:
    campaigns = sorted(p.stem for p in EXAMPLES.glob("*.json"))
    scenarios = sorted(p.stem for p in (EXAMPLES / "scenarios").glob("*.json"))
    assert campaigns == scenarios == sorted(EXPECTED)


def test_the_examples_are_valid_and_active() -> None:
    files = sorted(str(path) for path in EXAMPLES.glob("*.json"))
    proc = run("campaigns", "validate", *files)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines() == [f"{f}: ok (1 campaign)" for f in files]  # no warnings


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_example_makes_the_decisions_it_shows(name: str) -> None:
    campaign = EXAMPLES / f"{name}.json"
    assert decisions(campaign, EXAMPLES / "scenarios" / f"{name}.json") == EXPECTED[name]


def test_the_cohort_example_does_not_fire_outside_the_cohort(tmp_path: Path) -> None:
    scenario: dict[str, Any] = json.loads(
        (EXAMPLES / "scenarios" / "win-back-cohort.json").read_text()
    )
    scenario["cohorts"] = ["loyal"]
    path = tmp_path / "not-in-cohort.json"
    path.write_text(json.dumps(scenario))
    assert decisions(EXAMPLES / "win-back-cohort.json", path) == []


def test_a_bad_campaign_file_names_every_problem(tmp_path: Path) -> None:
    bad = json.loads((EXAMPLES / "welcome-deep-link.json").read_text())
    bad["content"] = {}
    bad["priority"] = "top"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    proc = run(
        "simulate", "--campaigns", str(path), str(EXAMPLES / "scenarios" / "welcome-deep-link.json")
    )
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        f"{path}: priority: must be an integer",
        f"{path}: content.url: is required for a DeepLink campaign (a non-empty string)",
    ]
    assert proc.stdout == ""
