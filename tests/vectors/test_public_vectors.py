"""The public example vectors, run through the real ``tidings`` executable.

``scenarios/``: ``NAME.scenario.json`` for ``tidings simulate --decisions`` and ``NAME.expect.json``
with the events (only the names listed in ``compare``) and the decisions expected, each in order.

``amplitude/``: one message per file with the action or preset, settings and mapping, and the
requests ``tidings amplitude preview`` must print. An expected event's ``contains`` must be a deep
subset of the produced one; ``only`` lists every key it may have (``insert_id`` and ``library``
always may); ``absent`` lists keys it must not have; ``distinct_insert_id`` asks for an insert id no
other event of the request shares. Control fields of the mapping never reach a request.

These are a sample of the spec, not its whole check: every behaviour here also has tests of its own.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
TIDINGS = shutil.which("tidings", path=str(Path(sys.executable).parent)) or "tidings"
SCENARIOS = sorted((HERE / "scenarios").glob("*.scenario.json"))
AMPLITUDE = sorted((HERE / "amplitude").glob("*.json"))

# Keys of the mapping language that steer the build and must never be sent to Amplitude.
CONTROL_KEYS = {
    "use_batch_endpoint",
    "userAgentParsing",
    "includeRawUserAgent",
    "library2",
    "trackRevenuePerProduct",
    "setOnce",
    "setAlways",
    "add",
    "utm_properties",
    "referrer",
    "min_id_length",
    "products",
    "userAgent",
    "userAgentData",
}
ALWAYS_ALLOWED = {"insert_id", "library"}


def test_the_vectors_are_in_the_repository() -> None:
    assert len(SCENARIOS) >= 3
    assert len(AMPLITUDE) >= 5


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda p: p.name.split(".")[0])
def test_scenario_vector(scenario: Path) -> None:
    expect = json.loads(
        scenario.with_name(scenario.name.replace(".scenario.", ".expect.")).read_text()
    )
    proc = subprocess.run(
        [TIDINGS, "simulate", "--decisions", str(scenario)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    assert all(isinstance(line, dict) for line in lines)
    events = [
        {key: line.get(key) for key in ("name", "type", "timestamp", "properties")}
        for line in lines
        if "decision" not in line and line.get("name") in expect["compare"]
    ]
    decisions = [
        {
            key: line["decision"].get(key)
            for key in ("campaignId", "status", "treatmentId", "source")
        }
        for line in lines
        if "decision" in line
    ]
    assert events == expect["events"]
    assert decisions == expect["decisions"]


def _is_subset(want: Any, got: Any, path: str = "$") -> str | None:
    """``None`` when ``want`` is a deep subset of ``got``; else where they first differ."""
    if isinstance(want, dict):
        if not isinstance(got, dict):
            return f"{path}: not an object: {got!r}"
        for key, value in want.items():
            if key not in got:
                return f"{path}.{key}: missing"
            problem = _is_subset(value, got[key], f"{path}.{key}")
            if problem:
                return problem
        return None
    if isinstance(want, list):
        if not isinstance(got, list) or len(got) != len(want):
            return f"{path}: want {len(want)} items, got {got!r}"
        for index, (w, g) in enumerate(zip(want, got, strict=True)):
            problem = _is_subset(w, g, f"{path}[{index}]")
            if problem:
                return problem
        return None
    numbers = (int, float)
    same_kind = type(want) is type(got) or (
        isinstance(want, numbers) and isinstance(got, numbers) and not isinstance(got, bool)
    )
    return None if same_kind and want == got else f"{path}: want {want!r}, got {got!r}"


def _events_of(request: dict[str, Any], expected: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    if expected["body"] == "json":
        body = request["json"]
        assert isinstance(body, dict)
        return body, body.get("events")
    form = request["form"]
    assert isinstance(form, dict)
    assert "undefined" not in json.dumps(form)
    parsed = json.loads(form[expected["field"]])
    return form, parsed if isinstance(parsed, list) else [parsed]


@pytest.mark.parametrize("vector_path", AMPLITUDE, ids=lambda p: p.stem)
def test_amplitude_vector(vector_path: Path) -> None:
    vector = json.loads(vector_path.read_text())
    args = [TIDINGS, "amplitude", "preview"]
    for flag in ("action", "preset"):
        if vector.get(flag):
            args += [f"--{flag}", vector[flag]]
    for flag in ("settings", "mapping"):
        if flag in vector:
            args += [f"--{flag}", json.dumps(vector[flag])]
    proc = subprocess.run(
        args, input=json.dumps(vector["message"]), capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    requests = json.loads(proc.stdout)
    assert [r.get("url") for r in requests] == [r["url"] for r in vector["requests"]]
    for request, expected in zip(requests, vector["requests"], strict=True):
        body, events = _events_of(request, expected)
        if "api_key" in expected:
            assert body.get("api_key") == expected["api_key"]
        if "options" in expected:
            assert body.get("options") == expected["options"]
        elif expected["body"] == "json":
            assert "options" not in body
        assert isinstance(events, list) and len(events) == len(expected["events"])
        insert_ids = [event.get("insert_id") for event in events]
        for event, want in zip(events, expected["events"], strict=True):
            assert _is_subset(want["contains"], event) is None, _is_subset(want["contains"], event)
            if "only" in want:
                assert set(event) - set(want["only"]) - ALWAYS_ALLOWED == set()
            assert set(event) & CONTROL_KEYS == set()
            for key in want.get("absent", []):
                assert key not in event
            if want.get("exact_user_properties"):
                assert event.get("user_properties") == want["contains"]["user_properties"]
            if want.get("distinct_insert_id"):
                assert event.get("insert_id")
                assert insert_ids.count(event["insert_id"]) == 1


def test_the_subset_check_can_fail() -> None:
    assert _is_subset({"a": 1}, {"a": 1, "b": 2}) is None
    assert _is_subset({"a": 1}, {"a": True}) is not None
    assert _is_subset({"a": [1]}, {"a": [1, 2]}) is not None
    assert _is_subset({"a": {"b": 1}}, {"a": {}}) == "$.a.b: missing"
