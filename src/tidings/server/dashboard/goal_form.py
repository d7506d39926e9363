"""The editor's fourth step, "Goal": a campaign's conversion events as form inputs.

Inputs are named by JSON path like every other editor input (``conversions[0].event.name``,
``conversions[0].windowHours``), so the core's validation errors land next to them. Reading the
form only reshapes it; :func:`tidings.core.campaigns.validate_campaign` judges the result.
"""

from __future__ import annotations

import re
from typing import Any, Final

from tidings.core.campaigns import MAX_CONVERSIONS
from tidings.core.campaigns.goals import DEFAULT_WINDOW_HOURS
from tidings.server.dashboard import paths
from tidings.server.dashboard.session import Form

ADD_GOAL: Final = "add-goal"
"""The editor action that appends a blank conversion event."""


def _one(form: Form, name: str) -> str:
    values = form.get(name)
    return values[0].strip() if values else ""


def _number(text: str) -> int | float | str:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def goals_from_form(form: Form, read_event: Any) -> list[dict[str, Any]]:
    """``conversions`` as the form describes them; ``read_event(form, prefix)`` reads an event
    picker (the trigger's reader, so a goal's event reads exactly as the trigger does)."""
    pattern = re.compile(r"conversions\[(\d+)\]")
    indices = sorted({int(m.group(1)) for key in form if (m := pattern.match(key))})
    out: list[dict[str, Any]] = []
    for i in indices:
        prefix = f"conversions[{i}]"
        goal: dict[str, Any] = {"event": read_event(form, f"{prefix}.event")}
        hours = _one(form, f"{prefix}.windowHours")
        if hours:
            goal["windowHours"] = _number(hours)
        out.append(goal)
    return out


def add_goal(draft: dict[str, Any]) -> bool:
    """Append a blank conversion event (none past :data:`MAX_CONVERSIONS`)."""
    if len(draft.get("conversions") or []) >= MAX_CONVERSIONS:
        return False
    blank = {
        "event": {"name": "", "type": "custom", "params": []},
        "windowHours": DEFAULT_WINDOW_HOURS,
    }
    return paths.append(draft, "conversions", blank)
