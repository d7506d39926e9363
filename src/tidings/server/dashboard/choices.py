"""Option lists of the editor's selects: ``(value, label[, value types it applies to])``.

Labels follow the dashboard vocabulary of the Who and When steps (Amply's rule builder); the
third element lets the page script offer only the operators that fit the chosen value type.
The server never relies on that filtering: the core validates whatever is sent.
"""

from __future__ import annotations

from typing import Final

Option = tuple[str, ...]

TRIGGER_OPS: Final[list[Option]] = [
    ("===", "=", "string number boolean"),
    ("!==", "≠", "string number boolean"),
    (">", ">", "number"),
    (">=", "≥", "number"),
    ("<", "<", "number"),
    ("<=", "≤", "number"),
]
PARAM_TYPES: Final[list[Option]] = [
    ("string", "Text"),
    ("number", "Number"),
    ("boolean", "Boolean"),
]
PROPERTY_TYPES: Final[list[Option]] = [*PARAM_TYPES, ("datetime", "Date and time")]
VERSION_OPS: Final[list[Option]] = [
    ("equal", "="),
    ("notEqual", "≠"),
    ("greater", ">"),
    ("less", "<"),
    ("greaterOrEqual", "≥"),
    ("lessOrEqual", "≤"),
    ("isSet", "is set"),
    ("isNotSet", "is not set"),
]
PROPERTY_OPS: Final[list[Option]] = [
    ("equal", "= / is", "string number boolean datetime"),
    ("notEqual", "≠", "string number boolean"),
    ("greater", "> / is after", "number datetime"),
    ("less", "< / is before", "number datetime"),
    ("greaterOrEqual", "≥", "number"),
    ("lessOrEqual", "≤", "number"),
    ("isSet", "is set", "string number boolean datetime"),
    ("isNotSet", "is not set", "string number boolean datetime"),
]
DATE_OPS: Final[list[Option]] = [
    ("equal", "is"),
    ("less", "is before"),
    ("greater", "is after"),
    ("lessOrEqual", "is on or before"),
    ("greaterOrEqual", "is on or after"),
    ("isSet", "is known"),
    ("isNotSet", "is unknown"),
]
COUNT_OPS: Final[list[Option]] = [
    ("equal", "exactly"),
    ("notEqual", "not exactly"),
    ("greater", "more than"),
    ("less", "fewer than"),
    ("greaterOrEqual", "at least"),
    ("lessOrEqual", "at most"),
]
INCLUDE: Final[list[Option]] = [("include", "is one of"), ("exclude", "is none of")]
DATE_KINDS: Final[list[Option]] = [("absolute", "a date and time"), ("relative", "a time ago")]
RELATIVE_UNITS: Final[list[Option]] = [
    ("minutes", "minutes ago"),
    ("hours", "hours ago"),
    ("days", "days ago"),
]
BOUNDS: Final[list[Option]] = [("first", "first occurrence"), ("last", "last occurrence")]
DATE_MODES: Final[list[Option]] = [
    ("withinLastDays", "within the last"),
    ("moreThanDaysAgo", "more than … ago"),
    ("moreThanDaysAgoOrNever", "more than … ago, or never"),
    ("beforeDate", "before the date"),
    ("afterDate", "after the date"),
]
REPEAT_TYPES: Final[list[Option]] = [
    ("every", "every Nth time"),
    ("interval", "only on the Nth time(s)"),
]
REPEAT_ENTITIES: Final[list[Option]] = [
    ("event", "occurrences of the trigger"),
    ("session", "sessions (the session counter)"),
]
SUB_ENTITIES: Final[list[Option]] = [("event", "occurrences of the trigger in that session")]
LIMIT_TYPES: Final[list[Option]] = [("", "—"), ("session", "per session"), ("device", "per device")]
INTERVAL_UNITS: Final[list[Option]] = [
    ("", "—"),
    ("sec", "seconds"),
    ("min", "minutes"),
    ("hour", "hours"),
    ("day", "days"),
]
CAMPAIGN_TYPES: Final[list[Option]] = [
    ("DeepLink", "Deep link (on the device)"),
    ("RateReview", "Rate & review prompt (on the device)"),
    ("Webhook", "Webhook call (on the server)"),
]
CHANNEL_TYPES: Final[list[Option]] = [
    ("CUSTOM", "Custom"),
    ("EMAIL", "Email"),
    ("SMS", "SMS"),
    ("PUSH", "Push"),
]

ALL: Final = {
    name: value for name, value in globals().items() if name.isupper() and isinstance(value, list)
}
