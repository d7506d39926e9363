"""One item of a device upload, judged alone: an event, a decision or a session.

Each validator returns the item in stored form or raises :class:`InvalidEvent` naming the
field inside the item; :mod:`tidings.server.upload` prefixes the item's path and turns the
error into a ``rejected`` entry, so one bad item never costs the good ones beside it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from math import isfinite
from typing import Any

from tidings.core.bounds import MAX_JSON_DEPTH, TimeWindow, depth_message, too_deep
from tidings.core.errors import InvalidEvent
from tidings.core.events import (
    CAMPAIGN_RESOLVED,
    CAMPAIGN_SHOWN,
    MAX_INT,
    MAX_KEY_LENGTH,
    MAX_NAME_LENGTH,
    MAX_STRING_LENGTH,
    MIN_INT,
    RESOLVED_RESULTS,
    SESSION_STARTED,
    SYSTEM_EVENT_NAMES,
    UNAVAILABLE_REASONS,
    json_type,
    validate_name,
    validate_properties,
)

MAX_ID_LENGTH = 128
MAX_TEXT_LENGTH = 255
EVENT_KEYS = 6
"""An SDK event carries exactly ``id, name, type, timestamp, sessionId, properties``."""
ITEM_DEPTH = MAX_JSON_DEPTH - 2
"""Nesting allowed inside one item: the body and its array are the first two levels."""
_STATUS_RE = re.compile(r"^[A-Z][A-Z_]{0,63}$")


def is_int(value: object) -> bool:
    """A JSON integer (``bool`` is an ``int`` subclass, and not one)."""
    return type(value) is int


def validate_session(item: object, window: TimeWindow) -> dict[str, Any]:
    """One session ``{id, counter, type, startedAt, endedAt}``; raises :class:`InvalidEvent`."""
    if not isinstance(item, dict):
        raise InvalidEvent("", f"must be an object, not {json_type(item)}")
    session: dict[str, Any] = {"id": _item_id(item)}
    counter = item.get("counter")
    if counter is not None:
        if not is_int(counter) or counter < 1:
            raise InvalidEvent("counter", "must be an integer >= 1")
        session["counter"] = counter
    kind = item.get("type")
    if kind is not None:
        if kind not in ("cold", "warm"):
            raise InvalidEvent("type", "must be 'cold' or 'warm'")
        session["type"] = kind
    for key in ("startedAt", "endedAt"):
        if item.get(key) is not None:
            session[key] = _timestamp(item, window, key)
    _check_depth(item)
    return session


def _check_system_properties(name: str, props: Mapping[str, Any]) -> None:
    """The system events whose properties feed stats must carry them in the documented form."""
    if name in (CAMPAIGN_SHOWN, CAMPAIGN_RESOLVED):
        campaign_id = props.get("campaignId")
        if not isinstance(campaign_id, str) or not campaign_id:
            raise InvalidEvent("properties.campaignId", "is required (a non-empty string)")
    if name == CAMPAIGN_RESOLVED:
        result = props.get("result")
        if result not in RESOLVED_RESULTS:
            raise InvalidEvent("properties.result", f"must be one of {', '.join(RESOLVED_RESULTS)}")
        reason = props.get("unavailableReason")
        if result == "Unavailable" and reason not in UNAVAILABLE_REASONS:
            raise InvalidEvent(
                "properties.unavailableReason", f"must be one of {', '.join(UNAVAILABLE_REASONS)}"
            )
        if result != "Unavailable" and reason is not None:
            raise InvalidEvent(
                "properties.unavailableReason", "is allowed only with result 'Unavailable'"
            )
    if name == SESSION_STARTED and props.get("type") not in ("cold", "warm"):
        raise InvalidEvent("properties.type", "must be 'cold' or 'warm'")


def _item_id(item: Mapping[str, Any], key: str = "id") -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value:
        raise InvalidEvent(key, "is required (a non-empty string)")
    if len(value) > MAX_ID_LENGTH:
        raise InvalidEvent(key, f"must be at most {MAX_ID_LENGTH} characters")
    return value


def _timestamp(item: Mapping[str, Any], window: TimeWindow, key: str = "timestamp") -> int:
    value = item.get(key)
    if not is_int(value):
        raise InvalidEvent(key, "is required (epoch milliseconds, an integer)")
    assert isinstance(value, int)
    reason = window.error(value)
    if reason is not None:
        raise InvalidEvent(key, reason)
    return value


def _check_depth(item: Mapping[str, Any]) -> None:
    """An item nested deeper than the one JSON limit allows is refused, naming where."""
    found = too_deep(item, ITEM_DEPTH)
    if found is not None:
        raise InvalidEvent("" if found == "body" else found, depth_message())


def json_properties(raw: object) -> dict[str, Any]:
    """``validate_properties`` for a map that came out of a JSON parser, without the copy.

    JSON leaves only plain ``str``/``int``/``float``/``bool``/``None``/list/dict values and
    ``str`` keys, so the common valid map is checked with a
    few type tests per key and returned as is. Anything this loop does not plainly accept is
    handed to :func:`validate_properties`, which owns the rules and the error messages: this
    is a shortcut to the same answer, never a second opinion.
    """
    if type(raw) is dict:
        for key, value in raw.items():
            kind = type(value)
            if type(key) is not str or not key or len(key) > MAX_KEY_LENGTH:
                break
            if kind is str:
                if len(value) > MAX_STRING_LENGTH:
                    break
            elif kind is int:
                if not MIN_INT <= value <= MAX_INT:
                    break
            elif kind is float:
                if not isfinite(value):
                    break
            elif kind is not bool:
                break
        else:
            return raw
    return validate_properties(raw)


def validate_event(item: object, window: TimeWindow) -> dict[str, Any]:
    """One event record of docs/spec/events.md, in stored form; raises :class:`InvalidEvent`.

    ``window`` is the time range the event's timestamp must lie in. Almost every event of an
    upload is a plain custom event with exactly the record's six keys, so that case is checked
    first with a handful of type tests (its properties are flat, so it cannot nest too deep);
    anything it does not plainly accept goes through :func:`_validate_event_fully`, which owns
    the rules and the error messages.
    """
    if type(item) is dict and len(item) == EVENT_KEYS:
        event_id = item.get("id")
        name = item.get("name")
        timestamp = item.get("timestamp")
        session_id = item.get("sessionId")
        if (
            item.get("type") == "custom"
            and type(event_id) is str
            and 0 < len(event_id) <= MAX_ID_LENGTH
            and type(name) is str
            and 0 < len(name) <= MAX_NAME_LENGTH
            and name not in SYSTEM_EVENT_NAMES
            and type(timestamp) is int
            and window.earliest <= timestamp <= window.latest
            and (
                session_id is None or (type(session_id) is str and len(session_id) <= MAX_ID_LENGTH)
            )
        ):
            return {
                "id": event_id,
                "name": name,
                "type": "custom",
                "timestamp": timestamp,
                "sessionId": session_id,
                "properties": json_properties(item.get("properties")),
            }
    return _validate_event_fully(item, window)


def _validate_event_fully(item: object, window: TimeWindow) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise InvalidEvent("", f"must be an object, not {json_type(item)}")
    event_id = _item_id(item)
    kind = item.get("type")
    if kind not in ("custom", "system"):
        raise InvalidEvent("type", "must be 'custom' or 'system'")
    name = validate_name(item.get("name"), custom=kind == "custom")
    if kind == "system" and name not in SYSTEM_EVENT_NAMES:
        raise InvalidEvent("name", f"{name!r} is not a system event")
    timestamp = _timestamp(item, window)
    session_id = item.get("sessionId")
    if session_id is not None and (
        not isinstance(session_id, str) or len(session_id) > MAX_ID_LENGTH
    ):
        raise InvalidEvent("sessionId", "must be a string (at most 128 characters) or null")
    raw_props = item.get("properties")
    if kind == "custom":
        properties: dict[str, Any] = json_properties(raw_props)
    else:
        # System events carry a few nested values (EventTriggered.properties, the campaign list
        # of ConfigFetchFinished); JSON already guarantees they are plain data.
        if raw_props is not None and not isinstance(raw_props, dict):
            raise InvalidEvent("properties", f"must be an object, not {json_type(raw_props)}")
        properties = raw_props or {}
        _check_system_properties(name, properties)
    _check_depth(item)
    return {
        "id": event_id,
        "name": name,
        "type": kind,
        "timestamp": timestamp,
        "sessionId": session_id,
        "properties": properties,
    }


def validate_decision(item: object, window: TimeWindow) -> dict[str, Any]:
    """One decision ``{id, campaignId, status, treatmentId, source, eventId, timestamp}``."""
    if not isinstance(item, dict):
        raise InvalidEvent("", f"must be an object, not {json_type(item)}")
    decision_id = _item_id(item)
    campaign_id = _item_id(item, "campaignId")
    status = item.get("status")
    if not isinstance(status, str) or not _STATUS_RE.match(status):
        raise InvalidEvent("status", "must be a send status such as 'SUCCESS' or 'HOLDOUT'")
    out: dict[str, Any] = {
        "id": decision_id,
        "campaignId": campaign_id,
        "status": status,
        "treatmentId": "0",
        "source": None,
        "eventId": None,
        "timestamp": _timestamp(item, window),
    }
    for key in ("treatmentId", "source", "eventId"):
        value = item.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or len(value) > MAX_TEXT_LENGTH:
            raise InvalidEvent(key, "must be a string (at most 255 characters)")
        out[key] = value
    _check_depth(item)
    return out
