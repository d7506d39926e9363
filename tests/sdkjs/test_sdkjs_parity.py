"""One spec for both SDKs: the JavaScript scenario runner prints what ``tidings simulate`` prints.

Every scenario in the repository (the public vectors, the shared corpus next to this file, the
examples, and the scenarios shown in README.md and docs/) runs through the real ``tidings
simulate`` executable and through ``node sdk-js/dist/simulate.js``; standard output must be byte
for byte the same, and so must the exit status and the error message. Then hypothesis generates
scenarios (campaigns, timelines, property changes, backgrounding) and both runners must agree on
every one of them, thousands per run, through the node runner's batch mode.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from scenario_strategies import scenario
from sdkjs_support import ROOT, BatchRunner, Run, node_or_fail

from tidings.cli.simulate import render_scenario

TIDINGS = Path(sys.executable).parent / "tidings"
SKIP_DIRS = {"node_modules", ".venv", ".git", "dist", "build", ".hypothesis"}


def scenario_files() -> list[Path]:
    """Every ``*.scenario.json`` in the repository."""
    found = []
    for path in sorted(ROOT.rglob("*.scenario.json")):
        if not SKIP_DIRS & set(path.relative_to(ROOT).parts):
            found.append(path)
    return found


_FENCE = re.compile(r"```json\n(.*?)```", re.S)
_HEREDOC = re.compile(r"<<'JSON'\n(.*?)\nJSON\n", re.S)


def documented_scenarios() -> list[tuple[str, str]]:
    """The scenarios written out in README.md and docs/*.md (JSON blocks with ``steps``)."""
    out = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        text = page.read_text(encoding="utf-8")
        blocks = _FENCE.findall(text) + _HEREDOC.findall(text)
        for i, block in enumerate(blocks):
            try:
                doc = json.loads(block)
            except ValueError:
                continue
            if isinstance(doc, dict) and isinstance(doc.get("steps"), list):
                out.append((f"{page.relative_to(ROOT)}#{i}", block))
    return out


def run_python_cli(path: Path, decisions: bool) -> Run:
    args = [str(TIDINGS), "simulate", *(["--decisions"] if decisions else []), str(path)]
    proc = subprocess.run(args, capture_output=True, timeout=120)
    return Run(proc.returncode, proc.stdout, proc.stderr.decode("utf-8"))


def run_node_cli(dist: Path, path: Path, decisions: bool) -> Run:
    node, _ = node_or_fail()
    args = [node, str(dist / "simulate.js"), *(["--decisions"] if decisions else []), str(path)]
    proc = subprocess.run(args, capture_output=True, timeout=120)
    return Run(proc.returncode, proc.stdout, proc.stderr.decode("utf-8"))


def assert_same(python: Run, node: Run, what: str) -> None:
    assert node.code == python.code, f"{what}: exit {node.code} != {python.code}\n{node.stderr}"
    if python.stdout != node.stdout:
        py_lines = python.stdout.decode().splitlines()
        js_lines = node.stdout.decode().splitlines()
        for i, (a, b) in enumerate(zip(py_lines, js_lines, strict=False)):
            assert a == b, f"{what}: line {i + 1} differs\npython: {a}\nnode:   {b}"
        assert len(py_lines) == len(js_lines), f"{what}: {len(py_lines)} != {len(js_lines)} lines"
    if python.code != 0 and "not valid JSON" not in python.stderr:
        assert node.stderr == python.stderr, what
    elif python.code != 0:
        # Parser messages differ between JSON libraries; the field and the verdict do not.
        marker = ": not valid JSON"
        assert node.stderr.split(marker)[0] == python.stderr.split(marker)[0]


def test_the_corpus_is_there() -> None:
    files = scenario_files()
    assert len(files) >= 20
    assert any("vectors" in p.parts for p in files)
    assert any("examples" in p.parts for p in files)
    assert len(documented_scenarios()) >= 2


@pytest.mark.slow
def test_every_scenario_file_prints_the_same_through_both_executables(sdkjs_dist: Path) -> None:
    """``node dist/simulate.js`` for every file; ``tidings simulate`` itself for the vectors and
    examples (its output for the others is the same function's, checked in process below)."""
    files = scenario_files()
    executable = [p for p in files if {"vectors", "examples"} & set(p.parts)]

    def node(path: Path) -> Run:
        return run_node_cli(sdkjs_dist, path, True)

    with ThreadPoolExecutor(max_workers=2) as pool:
        node_runs = list(pool.map(node, files))
        python_runs = dict(
            zip(executable, pool.map(lambda p: run_python_cli(p, True), executable), strict=True)
        )
    for path, node_run in zip(files, node_runs, strict=True):
        label = str(path)
        rendered = render_scenario(label, path.read_bytes(), decisions=True)
        python = python_runs.get(path) or Run(rendered.code, rendered.stdout, rendered.stderr)
        assert python.stdout == rendered.stdout, f"{path}: the command prints what it renders"
        assert_same(python, node_run, str(path.relative_to(ROOT)))
        assert python.code == 0, f"{path}: {python.stderr}"


@pytest.mark.slow
def test_every_scenario_without_decisions_and_every_documented_one(
    batch_runner: BatchRunner,
) -> None:
    jobs = [(str(p), p.read_text(encoding="utf-8")) for p in scenario_files()]
    jobs += documented_scenarios()
    for label, text in jobs:
        for decisions in (False, True):
            python = render_scenario(label, text.encode("utf-8"), decisions=decisions)
            node = batch_runner.run(label, text, decisions=decisions)
            assert_same(Run(python.code, python.stdout, python.stderr), node, label)


def treatments_campaign(*sizes: float, same_ids: bool = False) -> str:
    """A scenario whose one campaign has treatments of these sizes (ids "a", "b", ...)."""
    treatments = [
        {"id": "a" if same_ids else chr(ord("a") + i), "sizePercent": size}
        for i, size in enumerate(sizes)
    ]
    campaign = {
        "id": "c",
        "type": "DeepLink",
        "triggering": {"event": {"name": "A", "type": "custom"}},
        "content": {"url": "x://"},
        "treatments": treatments,
    }
    return json.dumps({"campaigns": [campaign], "steps": [LAUNCH]})


LAUNCH = {"at": "2026-01-05T10:00:00Z", "do": "launch"}


def test_errors_name_the_same_field_with_the_same_words(batch_runner: BatchRunner) -> None:
    """A few malformed scenarios, each a different rule, through both runners."""
    launch = LAUNCH
    bad = [
        "{not json",
        "[]",
        json.dumps({"steps": []}),
        json.dumps({"steps": [launch, {"at": "+1x", "do": "track", "name": "A"}]}),
        json.dumps({"steps": [launch, {"at": "+1s", "do": "track", "name": "SessionStarted"}]}),
        json.dumps(
            {"steps": [launch, {"at": "+1s", "do": "set_property", "key": "k", "value": [1]}]}
        ),
        json.dumps(
            {
                "steps": [
                    launch,
                    {
                        "at": "+1s",
                        "do": "track",
                        "name": "A",
                        "properties": {"caf\u00e9 'x'": None},
                    },
                ]
            }
        ),
        json.dumps(
            {
                "steps": [
                    launch,
                    {"at": "+1s", "do": "terminate"},
                    {"at": "+1s", "do": "track", "name": "A"},
                ]
            }
        ),
        treatments_campaign(60, 40, same_ids=True),
        treatments_campaign(60.5, 123456.5),
        json.dumps({"project": {"frequencyCapping": {"perDay": -1}}, "steps": [launch]}),
        json.dumps({"project": {"configRefreshSeconds": "soon"}, "steps": [launch]}),
        json.dumps({"device": {"timezone": "../etc"}, "steps": [launch]}),
        # Rules across parts come after every part: the holdout's error is the one reported.
        json.dumps({"campaigns": [cross_part_campaign("SessionStarted", 101)], "steps": [launch]}),
        json.dumps({"campaigns": [cross_part_campaign("SessionFinished", 10)], "steps": [launch]}),
    ]
    for text in bad:
        python = render_scenario("bad.json", text.encode("utf-8"), decisions=True)
        node = batch_runner.run("bad.json", text, decisions=True)
        assert python.code == 2, text
        assert_same(Run(python.code, python.stdout, python.stderr), node, text)


def cross_part_campaign(trigger: str, holdout: float) -> dict:
    """A campaign whose trigger breaks a rule across parts, with the given holdout."""
    return {
        "id": "c1",
        "type": "DeepLink",
        "state": "Active",
        "triggering": {
            "event": {"name": trigger, "type": "system"},
            "repeat": {"repeatType": "every", "repeatEntity": "session", "repeatValue": [1]},
        },
        "content": {"url": "myapp://c1"},
        "holdoutPercent": holdout,
    }


@pytest.mark.slow
@settings(
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(doc=scenario())
def test_generated_scenarios_print_the_same(batch_runner: BatchRunner, doc: dict) -> None:
    text = json.dumps(doc, ensure_ascii=False)
    python = render_scenario("generated.json", text.encode("utf-8"), decisions=True)
    node = batch_runner.run("generated.json", text, decisions=True)
    assert_same(Run(python.code, python.stdout, python.stderr), node, text)
