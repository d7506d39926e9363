"""The campaign editor's form ↔ campaign JSON.

Inputs are named by JSON path (see :mod:`.paths`). Turning a posted form into campaign JSON only
reshapes it: a number that does not parse stays a string, an empty input is left out, and the
core's :func:`~tidings.core.campaigns.parse_campaign` then says what is wrong and where. The
editor never holds a second copy of the validation rules.

Times typed in ``datetime-local`` inputs are read as UTC and stored as epoch ms.
"""

from __future__ import annotations

import copy
import math
import re
from datetime import UTC, datetime
from typing import Any, Final

import orjson

from tidings.core.campaigns.server import SERVER_TYPES
from tidings.core.events import SYSTEM_EVENT_NAMES
from tidings.server.dashboard import paths
from tidings.server.dashboard.goal_form import ADD_GOAL, add_goal, goals_from_form
from tidings.server.dashboard.session import Form

MANAGED: Final = (
    "id",
    "state",
    "createdAt",
    "name",
    "type",
    "channel",
    "priority",
    "triggering",
    "targeting",
    "content",
    "schedule",
    "quietTime",
    "holdoutPercent",
    "treatments",
    "conversions",
)
"""Top-level keys the editor owns; any other key of a stored campaign is kept as it was."""

VERSION_SLOTS: Final = ("osVersion", "appVersion", "appInstallVersion")
LIST_SLOTS: Final = ("country", "application", "cohort")
SLOTS: Final = (
    *VERSION_SLOTS,
    "country",
    "application",
    "customProperty",
    "installDate",
    "eventCount",
    "eventDate",
    "cohort",
)
SLOT_LABELS: Final = {
    "osVersion": "OS version",
    "appVersion": "App version",
    "appInstallVersion": "App install version",
    "country": "Country",
    "application": "Application",
    "customProperty": "Custom property",
    "installDate": "Install date",
    "eventCount": "Event count",
    "eventDate": "Event date",
    "cohort": "Cohort",
}


def _blank_event() -> dict[str, Any]:
    return {"name": "", "type": "custom", "params": []}


def new_slot(slot: str) -> dict[str, Any]:
    """A targeting item as the "Add rule" button inserts it."""
    body: dict[str, Any]
    if slot in VERSION_SLOTS:
        body = {"compareType": "greaterOrEqual", "value": ""}
    elif slot in LIST_SLOTS:
        body = {"type": "include", "values": []}
    elif slot == "customProperty":
        body = {"key": "", "valueType": "string", "compareType": "equal", "value": ""}
    elif slot == "installDate":
        body = {"compareType": "less", "value": {"type": "relative", "relativeValue": 7}}
    elif slot == "eventCount":
        body = {"event": _blank_event(), "compareType": "greaterOrEqual", "value": 1}
    else:
        body = {"event": _blank_event(), "bound": "last", "mode": "withinLastDays"}
        body["relativeValue"] = 7
    return {slot: body}


NEW_PARAM: Final = {"name": "", "compareType": "===", "valueType": "string", "value": ""}


def new_campaign() -> dict[str, Any]:
    """What "New campaign" starts from: a deep link fired on every occurrence of its trigger."""
    return {
        "name": "",
        "type": "DeepLink",
        "priority": 0,
        "triggering": {
            "event": _blank_event(),
            "repeat": {"repeatType": "every", "repeatEntity": "event", "repeatValue": [1]},
        },
        "targeting": [],
        "content": {"url": ""},
    }


# --------------------------------------------------------------------------- reading inputs


def _one(form: Form, name: str) -> str:
    values = form.get(name)
    return values[0].strip() if values else ""


def _indices(form: Form, prefix: str) -> list[int]:
    pattern = re.compile(re.escape(prefix) + r"\[(\d+)\]")
    found = {int(m.group(1)) for key in form if (m := pattern.match(key))}
    return sorted(found)


def _number(text: str) -> int | float | str:
    """An int or float when the text is one; otherwise the text, for the core to refuse."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return text
    return value if math.isfinite(value) else text


def _int_list(text: str) -> list[int | str]:
    return [int(t) if re.fullmatch(r"[+-]?\d+", t) else t for t in re.split(r"[\s,]+", text) if t]


def _text_list(text: str, *, upper: bool = False) -> list[str]:
    items = [t.strip() for t in re.split(r"[,\n]+", text) if t.strip()]
    return [t.upper() for t in items] if upper else items


def _set(out: dict[str, Any], key: str, value: Any) -> None:
    """Set ``key`` unless the input was left empty (an empty text, list or object)."""
    if value is None or value == "" or (isinstance(value, list | dict) and not value):
        return
    out[key] = value


def json_or_text(text: str) -> Any:
    """A JSON text as its value; text that is not JSON stays text, for the core to refuse."""
    if not text:
        return ""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text


def body_text(value: object) -> str:
    """A body template as the editor's textarea shows it (indented JSON; text as it is)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        return value
    return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()


def local_to_ms(text: str) -> int | str:
    """``YYYY-MM-DDTHH:MM`` (a datetime-local input, read as UTC) → epoch ms."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return text
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


def ms_to_local(value: object) -> str:
    """The inverse of :func:`local_to_ms` for display; other values are shown as they are."""
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value / 1000, UTC).strftime("%Y-%m-%dT%H:%M")
        except (OverflowError, OSError, ValueError):
            return str(value)
    return "" if value is None else str(value)


def event_type(name: str) -> str:
    """System events have a fixed list of names; a custom event may not take one of them."""
    return "system" if name in SYSTEM_EVENT_NAMES else "custom"


def _event(form: Form, prefix: str) -> dict[str, Any]:
    name = _one(form, f"{prefix}.otherName") or _one(form, f"{prefix}.name")
    params = []
    for i in _indices(form, f"{prefix}.params"):
        p = f"{prefix}.params[{i}]"
        params.append(
            {
                "name": _one(form, f"{p}.name"),
                "compareType": _one(form, f"{p}.compareType") or "===",
                "valueType": _one(form, f"{p}.valueType") or "string",
                "value": _one(form, f"{p}.value"),
            }
        )
    return {"name": name, "type": event_type(name), "params": params}


def _repeat(form: Form, prefix: str) -> dict[str, Any]:
    return {
        "repeatType": _one(form, f"{prefix}.repeatType") or "every",
        "repeatEntity": _one(form, f"{prefix}.repeatEntity") or "event",
        "repeatValue": _int_list(_one(form, f"{prefix}.repeatValue")),
    }


def _limit(form: Form) -> dict[str, Any]:
    p = "triggering.limit"
    out: dict[str, Any] = {}
    for key in ("limit", "interval", "count"):
        text = _one(form, f"{p}.{key}")
        if text:
            out[key] = _number(text)
    _set(out, "limitType", _one(form, f"{p}.limitType"))
    _set(out, "intervalDimension", _one(form, f"{p}.intervalDimension"))
    return out


def _date_value(form: Form, prefix: str) -> dict[str, Any]:
    kind = _one(form, f"{prefix}.type") or "absolute"
    if kind == "relative":
        out: dict[str, Any] = {"type": "relative"}
        _set(out, "relativeValue", _number_or_blank(_one(form, f"{prefix}.relativeValue")))
        _set(out, "dimension", _one(form, f"{prefix}.dimension") or "days")
        return out
    out = {"type": "absolute"}
    text = _one(form, f"{prefix}.absoluteValue")
    if text:
        out["absoluteValue"] = local_to_ms(text)
    return out


def _number_or_blank(text: str) -> int | float | str:
    return _number(text) if text else ""


def _slot(form: Form, prefix: str) -> dict[str, Any]:
    slot = _one(form, f"{prefix}.slot")
    if slot not in SLOTS:
        return {}
    p = f"{prefix}.{slot}"
    body: dict[str, Any] = {}
    if slot in VERSION_SLOTS:
        body["compareType"] = _one(form, f"{p}.compareType")
        _set(body, "value", _one(form, f"{p}.value"))
    elif slot == "application":
        body["type"] = _one(form, f"{p}.type") or "include"
        body["values"] = [v for v in form.get(f"{p}.values", []) if v]
    elif slot in LIST_SLOTS:
        body["type"] = _one(form, f"{p}.type") or "include"
        body["values"] = _text_list(_one(form, f"{p}.values"), upper=slot == "country")
    elif slot == "customProperty":
        body["key"] = _one(form, f"{p}.key")
        body["valueType"] = _one(form, f"{p}.valueType") or "string"
        body["compareType"] = _one(form, f"{p}.compareType")
        if body["compareType"] not in ("isSet", "isNotSet"):
            if body["valueType"] == "datetime":
                body["dateValue"] = _date_value(form, f"{p}.dateValue")
            else:
                _set(body, "value", _one(form, f"{p}.value"))
    elif slot == "installDate":
        body["compareType"] = _one(form, f"{p}.compareType")
        if body["compareType"] not in ("isSet", "isNotSet"):
            body["value"] = _date_value(form, f"{p}.value")
    elif slot == "eventCount":
        body["event"] = _event(form, f"{p}.event")
        body["compareType"] = _one(form, f"{p}.compareType")
        body["value"] = _number_or_blank(_one(form, f"{p}.value"))
        if body["value"] == "":
            del body["value"]
    else:
        body["event"] = _event(form, f"{p}.event")
        body["bound"] = _one(form, f"{p}.bound")
        body["mode"] = mode = _one(form, f"{p}.mode")
        if mode in ("beforeDate", "afterDate"):
            _set(body, "absoluteValue", _one(form, f"{p}.absoluteValue"))
        else:
            _set(body, "relativeValue", _number_or_blank(_one(form, f"{p}.relativeValue")))
            _set(body, "relativeUnit", _one(form, f"{p}.relativeUnit") or "days")
    return {slot: body}


def campaign_from_form(form: Form, base: dict[str, Any] | None = None) -> dict[str, Any]:
    """The campaign JSON the form describes; keys of ``base`` the editor does not own are kept."""
    base = base or {}
    out: dict[str, Any] = {k: copy.deepcopy(v) for k, v in base.items() if k not in MANAGED}
    out["name"] = _one(form, "name")
    out["type"] = ctype = _one(form, "type") or "DeepLink"
    priority = _one(form, "priority")
    if priority:
        out["priority"] = _number(priority)

    triggering: dict[str, Any] = {"event": _event(form, "triggering.event")}
    repeat = _repeat(form, "triggering.repeat")
    if _one(form, "triggering.repeat.subRepeat.enabled"):
        repeat["subRepeat"] = _repeat(form, "triggering.repeat.subRepeat")
    triggering["repeat"] = repeat
    limit = _limit(form)
    if limit:
        triggering["limit"] = limit
    out["triggering"] = triggering

    out["targeting"] = [_slot(form, f"targeting[{i}]") for i in _indices(form, "targeting")]

    if ctype in SERVER_TYPES:
        out["channel"] = "server"
        content = {
            "destinationId": _one(form, "content.destinationId"),
            "channelType": _one(form, "content.channelType") or "CUSTOM",
            "body": json_or_text(_one(form, "content.body")),
        }
        out["content"] = {k: v for k, v in content.items() if v != ""}
    if ctype == "DeepLink":
        base_content = base.get("content")
        content = dict(base_content) if isinstance(base_content, dict) else {}
        url = _one(form, "content.url")
        if url:
            content["url"] = url
        else:
            content.pop("url", None)
        if content:
            out["content"] = content

    schedule: dict[str, Any] = {}
    for key in ("startTime", "endTime"):
        text = _one(form, f"schedule.{key}")
        if text:
            schedule[key] = local_to_ms(text)
    _set(out, "schedule", schedule)
    quiet: dict[str, Any] = {}
    _set(quiet, "start", _one(form, "quietTime.start"))
    _set(quiet, "end", _one(form, "quietTime.end"))
    _set(out, "quietTime", quiet)
    holdout = _one(form, "holdoutPercent")
    if holdout:
        out["holdoutPercent"] = _number(holdout)

    kept_contents = {
        str(t.get("id")): copy.deepcopy(t["content"])
        for t in base.get("treatments") or []
        if isinstance(t, dict) and isinstance(t.get("content"), dict)
    }
    treatments = []
    for i in _indices(form, "treatments"):
        p = f"treatments[{i}]"
        item: dict[str, Any] = {
            "id": _one(form, f"{p}.id"),
            "sizePercent": _number_or_blank(_one(form, f"{p}.sizePercent")),
        }
        url = _one(form, f"{p}.content.url")
        if url and ctype == "DeepLink":
            item["content"] = {"url": url}
        elif ctype in SERVER_TYPES and item["id"] in kept_contents:
            item["content"] = kept_contents[item["id"]]  # edited through the API, kept here
        treatments.append(item)
    _set(out, "treatments", treatments)
    _set(out, "conversions", goals_from_form(form, _event))
    return out


def apply_action(draft: dict[str, Any], action: str) -> bool:
    """Apply an editor button that changes the form's shape; ``True`` when it was one."""
    kind, _, arg = action.partition(":")
    if kind == "add-rule" and arg in SLOTS:
        return paths.append(draft, "targeting", new_slot(arg))
    if kind == "add-param":
        return paths.append(draft, f"{arg}.params", dict(NEW_PARAM))
    if kind == "add-treatment":
        count = len(draft.get("treatments") or [])
        return paths.append(draft, "treatments", {"id": str(count + 1), "sizePercent": ""})
    if kind == ADD_GOAL:
        return add_goal(draft)
    if kind == "remove" and arg:
        paths.remove(draft, arg)
        return True
    return False
