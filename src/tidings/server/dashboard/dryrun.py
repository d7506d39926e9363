"""The editor's dry run: a short scripted device (the ``tidings simulate`` engine) on the draft.

The draft is run as if it were Active, alone, under the project's frequency caps. The script is
a simulate scenario without ``campaigns`` (docs/spec/simulate.md); the default one launches the
app and fires the trigger three times with properties that satisfy its param filters, so a PM
sees at once what the repeat rule and limits let through. The simulation runs in explain mode: a
triggering event on which a campaign made no decision gets a row naming the first rule that
failed, and a run in which a campaign made no decision at all says why, per campaign. The reasons
come from the core engine's own rules (``tidings.core.campaigns.explain``), never from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, cast, get_args

import orjson

from tidings.core.campaigns import Status, parse_campaign, status_text
from tidings.core.errors import InvalidCampaign, InvalidScenario, TidingsError
from tidings.core.events import SESSION_STARTED, SYSTEM_EVENT_NAMES
from tidings.core.scenario import parse_scenario
from tidings.core.simulation import Simulation
from tidings.storage import ProjectConfig

MAX_STEPS: Final = 200
MAX_LINES: Final = 2000
EXPLAINED_STATUSES: Final = frozenset(get_args(Status)) - {"SUCCESS"}
"""Decision statuses the panel explains in words (the engine's own list, less SUCCESS)."""


@dataclass
class DryRun:
    """What the panel shows: the script, and either output rows or the error with its path."""

    script: str
    error_field: str | None = None
    error: str | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)
    ran: bool = False
    reasons: list[dict[str, str]] = field(default_factory=list)
    """For every campaign of the run that made no decision at all: its name and why."""

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


_SPARE_COUNTRIES: Final = ("US", "GB", "DE", "PL", "FR", "JP", "BR", "IN")


def _bumped(version: str, step: int) -> str:
    """``version`` with its last part moved by ``step`` (never below 0)."""
    parts = [p for p in str(version).split(".") if p] or ["1"]
    digits = "".join(ch for ch in parts[-1] if ch.isdigit()) or "0"
    parts[-1] = str(max(0, int(digits) + step))
    return ".".join(parts)


def _version_for(rule: dict[str, Any]) -> str | None:
    op, value = rule.get("compareType"), str(rule.get("value") or "1.0.0")
    if op in ("equal", "greaterOrEqual", "lessOrEqual"):
        return value
    if op in ("greater", "notEqual"):
        return _bumped(value, 1)
    if op == "less":
        return _bumped(value, -1)
    return None if op == "isNotSet" else "1.0.0"


def _property_for(rule: dict[str, Any]) -> tuple[bool, Any]:
    """A custom property value that satisfies the rule (``False``: leave it unset)."""
    op, vtype, value = rule.get("compareType"), rule.get("valueType"), rule.get("value")
    if op in ("isNotSet", "notEqual") or vtype == "datetime":
        return False, None
    if vtype == "number":
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            number = 0.0
        number += {"greater": 1, "less": -1}.get(str(op), 0)
        return True, int(number) if number.is_integer() else number
    if vtype == "boolean":
        return True, str(value).lower() == "true"
    return True, "set" if op == "isSet" else str(value)


def fit_who(draft: dict[str, Any]) -> tuple[dict[str, Any], list[str], list[dict[str, Any]]]:
    """A device, its cohorts and property steps that satisfy the draft's Who where it can be
    satisfied by device attributes (event-history rules are left to the steps)."""
    device: dict[str, Any] = {"deviceId": "dry-run", "platform": "iOS", "appVersion": "1.0.0"}
    cohorts: list[str] = []
    steps: list[dict[str, Any]] = []
    versions = ("osVersion", "appVersion", "appInstallVersion")
    for item in draft.get("targeting") or []:
        if not isinstance(item, dict) or len(item) != 1:
            continue
        ((slot, rule),) = item.items()
        if not isinstance(rule, dict):
            continue
        values = [v for v in rule.get("values") or [] if isinstance(v, str) and v]
        include = rule.get("type", "include") == "include"
        if slot in versions:
            version = _version_for(rule)
            if version is None:
                device.pop(slot, None)
            else:
                device[slot] = version
        elif slot == "country":
            spare = [c for c in _SPARE_COUNTRIES if c not in {v.upper() for v in values}]
            device["country"] = values[0].upper() if include and values else spare[0]
        elif slot == "application" and include and values:
            device["application"] = values[0]
        elif slot == "cohort" and include and values:
            cohorts.append(values[0])
        elif slot == "customProperty" and rule.get("key"):
            wanted, value = _property_for(rule)
            if wanted:
                steps.append(
                    {"at": "+1s", "do": "set_property", "key": rule["key"], "value": value}
                )
    return device, cohorts, steps


def default_script(draft: dict[str, Any]) -> str:
    """A device that fits the Who, a launch, then the trigger three times, five seconds apart."""
    event = (draft.get("triggering") or {}).get("event") or {}
    name = event.get("name") or "PurchaseCompleted"
    device, cohorts, property_steps = fit_who(draft)
    steps: list[dict[str, Any]] = [{"at": "2026-01-01T10:00:00Z", "do": "launch"}]
    steps += property_steps
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
    script: dict[str, Any] = {"device": device, "steps": steps}
    if cohorts:
        script["cohorts"] = cohorts
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
        lines = Simulation(scenario, explain=True).run()
        last_at: Any = None
        decided: set[str] = set()
        last_why: dict[str, str] = {}
        for line in lines:
            row = _row(line, last_at)
            last_at = row["at"]
            result.rows.append(row)
            if isinstance(line.get("decision"), dict):
                decided.add(str(line["decision"].get("campaignId")))
            elif isinstance(line.get("noDecision"), dict):
                why = line["noDecision"]
                last_why[str(why.get("campaignId"))] = str(why.get("reason"))
            if len(result.rows) >= MAX_LINES:
                break
        if campaign_id not in decided:
            result.reasons.append(
                {
                    "campaign": str(draft.get("name") or campaign_id),
                    "reason": last_why.get(campaign_id) or _never_triggered(draft),
                }
            )
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


def _never_triggered(draft: dict[str, Any]) -> str:
    """Why a campaign whose trigger never came in the foreground made no decision."""
    event = (draft.get("triggering") or {}).get("event") or {}
    name, etype = event.get("name") or "?", event.get("type") or "custom"
    return f"the script never sends the trigger {name} ({etype}) while the app is in the foreground"


def _row(line: dict[str, Any], last_at: Any) -> dict[str, Any]:
    decision = line.get("decision")
    if isinstance(decision, dict):
        status = decision.get("status")
        detail = f"treatment {decision.get('treatmentId')}"
        if status in EXPLAINED_STATUSES:
            detail += f": {status_text(cast(Status, status))}"
        return {
            "kind": "decision",
            "at": last_at,
            "name": decision.get("source"),
            "status": status,
            "detail": detail,
        }
    why = line.get("noDecision")
    if isinstance(why, dict):
        return {
            "kind": "no-decision",
            "at": last_at,
            "name": why.get("source"),
            "status": None,
            "detail": str(why.get("reason")),
        }
    props = line.get("properties") or {}
    return {
        "kind": "event",
        "at": line.get("timestamp"),
        "name": line.get("name"),
        "status": None,
        "detail": orjson.dumps(props).decode() if props else "",
    }
