"""Validation problems in the words of the editor's own labels.

The core names a problem by JSON path with a reason meant for API users
(``triggering.limit.limitType: must be one of session, device``). The editor shows the same
problem as its form does: ``Frequency limit: choose per session or per device``. Only the
wording changes here; which values are wrong is decided by the core alone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from tidings.core.errors import InvalidCampaign
from tidings.server.dashboard import paths
from tidings.server.dashboard.forms import SLOT_LABELS

FIELD_LABELS: Final = {
    "name": "Name",
    "id": "Campaign id",
    "type": "Action",
    "priority": "Priority",
    "state": "State",
    "createdAt": "Created",
    "triggering": "Trigger",
    "triggering.event": "Trigger event",
    "triggering.event.name": "Trigger event",
    "triggering.event.type": "Trigger event type",
    "triggering.repeat": "Repeat",
    "triggering.repeat.repeatType": "Repeat",
    "triggering.repeat.repeatEntity": "Repeat: counted per",
    "triggering.repeat.repeatValue": "Repeat: occurrences",
    "triggering.repeat.subRepeat": "Repeat within",
    "triggering.repeat.subRepeat.repeatType": "Repeat within",
    "triggering.repeat.subRepeat.repeatEntity": "Repeat within: counted per",
    "triggering.repeat.subRepeat.repeatValue": "Repeat within: occurrences",
    "triggering.limit": "Frequency limit",
    "triggering.limit.limit": "Frequency limit: times",
    "triggering.limit.limitType": "Frequency limit",
    "triggering.limit.interval": "Frequency window",
    "triggering.limit.intervalDimension": "Frequency window unit",
    "triggering.limit.count": "Total shows",
    "targeting": "Who",
    "content": "Deep link",
    "content.url": "Deep link URL",
    "schedule": "Schedule",
    "schedule.startTime": "Schedule: starts",
    "schedule.endTime": "Schedule: ends",
    "quietTime": "Quiet time",
    "quietTime.start": "Quiet time: from",
    "quietTime.end": "Quiet time: until",
    "holdoutPercent": "Holdout %",
    "treatments": "Treatments",
    "campaign": "Campaign",
}
"""Labels of whole paths (list items are stripped first, see :func:`label`)."""

PART_LABELS: Final = {
    "name": "property",
    "compareType": "operator",
    "valueType": "value type",
    "value": "value",
    "values": "values",
    "key": "property key",
    "type": "match",
    "bound": "which occurrence",
    "mode": "was",
    "relativeValue": "amount",
    "relativeUnit": "unit",
    "absoluteValue": "date",
    "dimension": "unit",
    "dateValue": "compared with",
    "id": "id",
    "sizePercent": "size %",
    "url": "deep link URL",
    "event": "event",
}
"""The last part of a path inside a rule, a treatment or a property filter."""

STATE_LABELS: Final = {"Draft": "Draft", "Active": "Active", "Cancel": "Stopped"}
"""How a campaign state reads: the stored ``Cancel`` is a stopped campaign."""

CHOICE_WORDS: Final = {
    "session": "per session",
    "device": "per device",
    "sec": "seconds",
    "min": "minutes",
    "hour": "hours",
    "day": "days",
}

_ITEM = re.compile(r"^(targeting|treatments)\[(\d+)\](.*)$")
_PARAM = re.compile(r"^(.*)\.params\[(\d+)\]\.?(.*)$")
_ONE_OF = re.compile(r"^(?:is required \()?(?:must be )?one of (.+?)\)?$")
_INT_MIN = re.compile(r"^must be an integer >= (-?\d+)$")


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem as the editor shows it: the field it belongs to, and a sentence."""

    anchor: str
    label: str
    message: str

    @property
    def summary(self) -> str:
        return f"{self.label}: {self.message}"


def _or_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def plain_reason(reason: str) -> str:
    """The core's reason in a product manager's words (unknown reasons are kept as they are)."""
    if (m := _ONE_OF.match(reason)) is not None:
        words = [CHOICE_WORDS.get(w.strip(), w.strip()) for w in m.group(1).split(",")]
        return "choose " + _or_list(words)
    if (m := _INT_MIN.match(reason)) is not None:
        low = int(m.group(1))
        return "enter a whole number" + ("" if low < 0 else f" of at least {low}")
    fixed = {
        "is required": "enter a value",
        "must be a non-empty string": "enter a value",
        "must be an integer": "enter a whole number",
        "must be a number": "enter a number",
        "must be a string": "enter text",
        "is required when limit is set": "choose per session or per device",
        "is required when limitType is set": "enter how many times",
        "is required when interval is set": "choose a unit for the window",
        "is required when intervalDimension is set": "enter the window's length",
    }
    return fixed.get(reason, reason)


def label(path: str) -> str:
    """The name a product manager sees for the field at ``path``."""
    path = paths.anchor(path)
    if path in FIELD_LABELS:
        return FIELD_LABELS[path]
    if (m := _PARAM.match(path)) is not None:
        owner, index, rest = m.groups()
        where = label(owner)
        part = PART_LABELS.get(rest, rest) if rest else ""
        return f"{where}, property filter {int(index) + 1}" + (f" {part}" if part else "")
    if (m := _ITEM.match(path)) is not None:
        kind, index, rest = m.groups()
        tokens = [t for t in paths.split(rest) if isinstance(t, str)]
        if kind == "treatments":
            head = f"Treatment {int(index) + 1}"
        else:
            slot = tokens[0] if tokens else ""
            head = f"Rule {int(index) + 1} ({SLOT_LABELS.get(slot, 'rule')})"
            tokens = tokens[1:]
        part = PART_LABELS.get(tokens[-1], tokens[-1]) if tokens else ""
        return f"{head} {part}" if part else head
    return path or "Campaign"


def problems(found: Sequence[InvalidCampaign]) -> list[Problem]:
    """Every problem, in the order the core found them, by the field that shows it."""
    return [
        Problem(paths.anchor(p.field) or "campaign", label(p.field), plain_reason(p.reason))
        for p in found
    ]
