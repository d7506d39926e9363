"""Event records, validation, and constructors for every system event (docs/spec/events.md).

Validation is on the hot path of ``track()`` and of server ingest, so it is written as plain loops
over the property map with type checks ordered by how common each value type is.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal

from tidings.core.errors import InvalidEvent

EventType = Literal["custom", "system"]
Primitive = str | int | float | bool
JsonValue = Any
"""System events carry a few non-flat values (``EventTriggered.properties``, the campaign list of
``ConfigFetchFinished``); custom events only ever carry :data:`Primitive` values."""

MAX_NAME_LENGTH: Final = 255
MAX_KEY_LENGTH: Final = 255
MAX_STRING_LENGTH: Final = 1024
MIN_INT: Final = -(2**63)
MAX_INT: Final = 2**63 - 1

SDK_INITIALIZED: Final = "SdkInitialized"
CONFIG_FETCH_STARTED: Final = "ConfigFetchStarted"
CONFIG_FETCH_FINISHED: Final = "ConfigFetchFinished"
SESSION_STARTED: Final = "SessionStarted"
SESSION_FINISHED: Final = "SessionFinished"
CAMPAIGN_SHOWN: Final = "CampaignShown"
EVENT_TRIGGERED: Final = "EventTriggered"
CUSTOM_PROPERTY_CHANGED: Final = "CustomPropertyChanged"
CAMPAIGN_RESOLVED: Final = "CampaignResolved"

SYSTEM_EVENT_NAMES: Final = frozenset(
    {
        SDK_INITIALIZED,
        CONFIG_FETCH_STARTED,
        CONFIG_FETCH_FINISHED,
        SESSION_STARTED,
        SESSION_FINISHED,
        CAMPAIGN_SHOWN,
        EVENT_TRIGGERED,
        CUSTOM_PROPERTY_CHANGED,
        CAMPAIGN_RESOLVED,
    }
)
"""The complete list of system events; a custom event may not use any of these names."""

NON_TRIGGERING_EVENTS: Final = frozenset({CAMPAIGN_SHOWN, CAMPAIGN_RESOLVED})
"""Events that are recorded but never evaluated against campaign triggers."""

NOT_OBSERVABLE_EVENTS: Final = frozenset({CAMPAIGN_RESOLVED})
"""System events that are never delivered to the system-events listener (stats only)."""

PLUMBING_EVENTS: Final = frozenset(
    {SDK_INITIALIZED, CONFIG_FETCH_STARTED, CONFIG_FETCH_FINISHED, EVENT_TRIGGERED}
)
"""System events about the SDK itself (set-up, configuration fetches, the mirror of every
``track()``): analytics exporters leave them out unless a mapping asks for them."""

NEVER_SHOWN_TRIGGERS: Final = frozenset({SESSION_FINISHED})
"""Events a campaign may not be triggered on: the session is over, nothing could show."""

RESOLVED_RESULTS: Final = (
    "Completed",
    "Dismissed",
    "Unavailable",
    "SkippedNoPresenter",
    "SkippedNoContinuation",
)
UNAVAILABLE_REASONS: Final = ("TimedOut", "PresenterFailed", "PresenterReported")


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One recorded event, exactly the record of docs/spec/events.md."""

    id: str
    name: str
    type: EventType
    timestamp: int
    session_id: str | None
    properties: Mapping[str, JsonValue] = field(default_factory=dict)

    def to_json(self) -> dict[str, JsonValue]:
        """The wire form (camelCase ``sessionId``), as uploaded and printed by ``simulate``."""
        return {
            "id": self.id,
            "name": self.name,
            "type": self.type,
            "timestamp": self.timestamp,
            "sessionId": self.session_id,
            "properties": dict(self.properties),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EventRecord:
        """The record :meth:`to_json` wrote (a stored, already validated record: the SDK's own
        store, an uploaded event the server accepted); not a validator of user input."""
        return cls(
            data["id"],
            data["name"],
            data["type"],
            data["timestamp"],
            data.get("sessionId"),
            data.get("properties") or {},
        )


def json_type(value: object) -> str:
    """The JSON name of a parsed value's type (``null``, ``boolean``, ``number``, ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    return "object"


def datetime_to_ms(value: datetime, field_path: str) -> int:
    """Epoch milliseconds of an aware datetime; a naive one is ambiguous and rejected."""
    offset = value.utcoffset()
    if value.tzinfo is None or offset is None:
        raise InvalidEvent(field_path, "datetime must be timezone-aware")
    return round((value.replace(tzinfo=None) - offset - _EPOCH).total_seconds() * 1000)


_EPOCH = datetime(1970, 1, 1)


def validate_name(name: object, *, custom: bool = True, field_path: str = "name") -> str:
    """Check an event name; custom events may not borrow a system event name."""
    if not isinstance(name, str):
        raise InvalidEvent(field_path, "must be a string")
    if not name:
        raise InvalidEvent(field_path, "must not be empty")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidEvent(field_path, f"must be at most {MAX_NAME_LENGTH} characters")
    if custom and name in SYSTEM_EVENT_NAMES:
        raise InvalidEvent(field_path, f"{name!r} is a reserved system event name")
    return name


def validate_value(value: object, field_path: str) -> Primitive:
    """Check one property value and return it in stored form (datetimes become epoch ms)."""
    kind = type(value)
    if kind is str:
        if len(value) > MAX_STRING_LENGTH:  # type: ignore[arg-type]
            raise InvalidEvent(field_path, f"string must be at most {MAX_STRING_LENGTH} characters")
        return value  # type: ignore[return-value]
    if kind is bool:
        return value  # type: ignore[return-value]
    if kind is int:
        if not MIN_INT <= value <= MAX_INT:  # type: ignore[operator]
            raise InvalidEvent(field_path, "integer must fit in 64 bits")
        return value  # type: ignore[return-value]
    if kind is float:
        if not math.isfinite(value):  # type: ignore[arg-type]
            raise InvalidEvent(field_path, "number must be finite (no NaN or infinity)")
        return value  # type: ignore[return-value]
    if isinstance(value, datetime):
        return datetime_to_ms(value, field_path)
    if isinstance(value, bool | int | float | str):
        # Subclasses (IntEnum, numpy-like scalars registered as numbers): store the plain value.
        return validate_value(_plain(value), field_path)
    if value is None:
        raise InvalidEvent(field_path, "must not be null")
    return _reject(value, field_path)


def _plain(value: bool | int | float | str) -> Primitive:
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return str(value)


def _reject(value: object, field_path: str) -> Primitive:
    if isinstance(value, Mapping | list | tuple | set | frozenset):
        raise InvalidEvent(
            field_path, "must be a flat value (nested maps and lists are not allowed)"
        )
    raise InvalidEvent(
        field_path, f"must be a string, number, boolean or datetime, not {type(value).__name__}"
    )


def validate_key(key: object, field_path: str) -> str:
    """Check a property key (non-empty string, at most 255 characters)."""
    if type(key) is not str:
        raise InvalidEvent(field_path, "key must be a string")
    if not key:
        raise InvalidEvent(field_path, "key must not be empty")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidEvent(field_path, f"key must be at most {MAX_KEY_LENGTH} characters")
    return key


def validate_properties(properties: object, field_path: str = "properties") -> dict[str, Primitive]:
    """Check a flat property map and return a fresh dict in stored form."""
    if properties is None:
        return {}
    if not isinstance(properties, Mapping):
        raise InvalidEvent(field_path, "must be a map of property names to values")
    out: dict[str, Primitive] = {}
    for key, value in properties.items():
        kind = type(value)
        # The common case checked inline (this runs on every track()); the field path of an
        # error message is only built when there is an error to report.
        if (
            type(key) is str
            and 0 < len(key) <= MAX_KEY_LENGTH
            and (
                (kind is str and len(value) <= MAX_STRING_LENGTH)
                or kind is bool
                or (kind is int and MIN_INT <= value <= MAX_INT)
                or (kind is float and math.isfinite(value))
            )
        ):
            out[key] = value
            continue
        path = f"{field_path}[{key!r}]" if type(key) is str else field_path
        out[validate_key(key, path)] = validate_value(value, path)
    return out


def validate_custom_event(name: object, properties: object) -> tuple[str, dict[str, Primitive]]:
    """Validate the arguments of ``track(name, properties)``."""
    return validate_name(name), validate_properties(properties)


# --- system event payloads -------------------------------------------------------------------
# Each returns (name, properties); the recorder adds id, timestamp and session.

SystemEvent = tuple[str, dict[str, JsonValue]]


def sdk_initialized() -> SystemEvent:
    return SDK_INITIALIZED, {}


def config_fetch_started() -> SystemEvent:
    return CONFIG_FETCH_STARTED, {}


def config_fetch_finished(success: bool, campaigns: list[tuple[str, str]]) -> SystemEvent:
    """``campaigns`` is the list of (id, name) pairs of the configuration now in force."""
    return CONFIG_FETCH_FINISHED, {
        "campaignCount": len(campaigns),
        "success": success,
        "campaigns": [{"id": cid, "name": name} for cid, name in campaigns],
    }


def session_started(kind: Literal["cold", "warm"]) -> SystemEvent:
    return SESSION_STARTED, {"type": kind}


def session_finished() -> SystemEvent:
    return SESSION_FINISHED, {}


def campaign_shown(source: str, campaign_id: str) -> SystemEvent:
    return CAMPAIGN_SHOWN, {"source": source, "campaignId": campaign_id}


def event_triggered(source_event: str, properties: Mapping[str, JsonValue]) -> SystemEvent:
    """Mirrors a ``track()`` call; ``properties`` is the exact map passed to track."""
    return EVENT_TRIGGERED, {"sourceEvent": source_event, "properties": dict(properties)}


ABSENT: Final[Any] = object()
"""Marks an absent ``oldValue``/``newValue`` of a property change."""


def custom_property_changed(
    key: str, old_value: JsonValue = ABSENT, new_value: JsonValue = ABSENT
) -> SystemEvent:
    """``oldValue`` is absent on a first set, ``newValue`` on remove/clear."""
    props: dict[str, JsonValue] = {"key": key}
    if old_value is not ABSENT:
        props["oldValue"] = old_value
    if new_value is not ABSENT:
        props["newValue"] = new_value
    return CUSTOM_PROPERTY_CHANGED, props


def campaign_resolved(
    campaign_id: str, result: str, unavailable_reason: str | None = None
) -> SystemEvent:
    """``unavailableReason`` is present only, and then required, with result ``Unavailable``."""
    if result not in RESOLVED_RESULTS:
        raise InvalidEvent("result", f"must be one of {', '.join(RESOLVED_RESULTS)}")
    props: dict[str, JsonValue] = {"campaignId": campaign_id, "result": result}
    if result == "Unavailable":
        if unavailable_reason not in UNAVAILABLE_REASONS:
            raise InvalidEvent(
                "unavailableReason", f"must be one of {', '.join(UNAVAILABLE_REASONS)}"
            )
        props["unavailableReason"] = unavailable_reason
    elif unavailable_reason is not None:
        raise InvalidEvent("unavailableReason", "is allowed only with result 'Unavailable'")
    return CAMPAIGN_RESOLVED, props
