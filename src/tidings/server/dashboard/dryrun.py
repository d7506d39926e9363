"""The editor's dry run: a short scripted device (the ``tidings simulate`` engine) on the draft.

The draft is run as if it were Active, alone, under the project's frequency caps. The script is
a simulate scenario without ``campaigns`` (docs/spec/simulate.md); the default one launches the
app and fires the trigger three times with properties that satisfy its param filters, so a PM
sees at once what the repeat rule and limits let through.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

import orjson

from tidings.core.campaigns import parse_campaign
from tidings.core.errors import InvalidCampaign, InvalidScenario, TidingsError
from tidings.core.events import SESSION_STARTED, SYSTEM_EVENT_NAMES
from tidings.core.scenario import parse_scenario
from tidings.core.simulation import Simulation
from tidings.storage import ProjectConfig

MAX_STEPS: Final = 200
MAX_LINES: Final = 2000


@dataclass
class DryRun:
    """What the panel shows: the script, and either output rows or the error with its path."""

    script: str
    error_field: str | None = None
    error: str | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)
    ran: bool = False

    @property
    def fired(self) -> int:
        return sum(1 for r in self.rows if r.get("status") == "SUCCESS")


def param_value(param: dict[str, Any]) -> Any:
    """A property value that satisfies one trigger param filter."""
    value, vtype, op = param.get("value", ""), param.get("valueType"), param.get("compareType")
    if vtype == "number":
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = 0.0
        number = number + 1 if op in (">", ">=") else number - 1 if op in ("<", "<=") else number
        return int(number) if number.is_integer() else number
    if vtype == "boolean":
        truth = str(value).lower() == "true"
        return (not truth) if op == "!==" else truth
    return f"not {value}" if op == "!==" else str(value)


def default_script(draft: dict[str, Any]) -> str:
    """A launch, then the trigger three times, five seconds apart."""
    event = (draft.get("triggering") or {}).get("event") or {}
    name = event.get("name") or "PurchaseCompleted"
    steps: list[dict[str, Any]] = [{"at": "2026-01-01T10:00:00Z", "do": "launch"}]
    if name == SESSION_STARTED:
        for _ in range(3):
            steps += [{"at": "+5s", "do": "background"}, {"at": "+2m", "do": "foreground"}]
    elif name not in SYSTEM_EVENT_NAMES:
        props = {
            p["name"]: param_value(p)
            for p in event.get("params") or []
            if isinstance(p, dict) and p.get("name")
        }
        step: dict[str, Any] = {"at": "+5s", "do": "track", "name": name}
        if props:
            step["properties"] = props
        steps += [dict(step) for _ in range(3)]
    script = {
        "device": {"deviceId": "dry-run", "platform": "iOS", "appVersion": "1.0.0"},
        "steps": steps,
    }
    return orjson.dumps(script, option=orjson.OPT_INDENT_2).decode()


def run(draft: dict[str, Any], campaign_id: str, script: str, project: ProjectConfig) -> DryRun:
    """Run ``script`` against the draft; a bad draft or script is reported, never raised."""
    result = DryRun(script=script)
    try:
        doc = orjson.loads(script)
    except orjson.JSONDecodeError as exc:
        result.error_field, result.error = "script", f"not valid JSON: {exc}"
        return result
    if not isinstance(doc, dict):
        result.error_field, result.error = "script", "must be a JSON object"
        return result
    campaign = {**draft, "id": campaign_id, "state": "Active", "createdAt": 0}
    try:
        parse_campaign(campaign, allowed_schemes=project.deep_link_schemes)
    except InvalidCampaign as exc:
        result.error_field, result.error = exc.field, exc.reason
        return result
    steps = doc.get("steps")
    if isinstance(steps, list) and len(steps) > MAX_STEPS:
        result.error_field, result.error = "steps", f"at most {MAX_STEPS} steps in a dry run"
        return result
    scenario_doc = {
        **{k: v for k, v in doc.items() if k != "campaigns"},
        "campaigns": [campaign],
        "project": {"frequencyCapping": project.frequency_capping},
    }
    if project.frequency_capping is None:
        scenario_doc["project"] = {}
    try:
        scenario = parse_scenario(scenario_doc)
        lines = Simulation(scenario).run()
        last_at: Any = None
        for line in lines:
            row = _row(line, last_at)
            last_at = row["at"]
            result.rows.append(row)
            if len(result.rows) >= MAX_LINES:
                break
    except InvalidScenario as exc:
        result.error_field, result.error = exc.field, exc.reason
        result.rows = []
        return result
    except TidingsError as exc:  # an event the device refuses, named by the core
        result.error_field, result.error = "steps", str(exc)
        result.rows = []
        return result
    result.ran = True
    return result


def _row(line: dict[str, Any], last_at: Any) -> dict[str, Any]:
    decision = line.get("decision")
    if isinstance(decision, dict):
        return {
            "kind": "decision",
            "at": last_at,
            "name": decision.get("source"),
            "status": decision.get("status"),
            "detail": f"treatment {decision.get('treatmentId')}",
        }
    props = line.get("properties") or {}
    return {
        "kind": "event",
        "at": line.get("timestamp"),
        "name": line.get("name"),
        "status": None,
        "detail": orjson.dumps(props).decode() if props else "",
    }
