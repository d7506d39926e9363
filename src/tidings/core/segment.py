"""Segment-spec messages (track, identify, group, alias, page, screen) as Tidings events.

Messages that arrive through the Segment-compatible API enter the same event log as SDK events.
The conversion keeps the message itself (destinations map Segment messages "as they came") and
derives the event-log view of it:

- ``messageId`` is the event id (the server makes one when a client sent none);
- the event name is ``event`` for track; ``Viewed {name}`` (or ``Loaded a Page`` /
  ``Loaded a Screen`` without a name) for page and screen, as Segment's Amplitude presets name
  them; ``$identify``, ``$groupidentify`` and ``$alias`` for the calls that are not events;
- the event time follows Segment: ``timestamp`` when given, else ``originalTimestamp`` corrected
  for the device clock skew measured by ``sentAt`` against arrival, else the arrival time.

Pure: the arrival time and any generated id are passed in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from tidings.core.bounds import MAX_JSON_DEPTH, TimeWindow, depth_message, too_deep
from tidings.core.errors import InvalidEvent
from tidings.core.events import MAX_NAME_LENGTH, EventRecord

MESSAGE_TYPES: Final = frozenset({"track", "identify", "group", "alias", "page", "screen"})
MAX_ID_LENGTH: Final = 255

_UNIX_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class SegmentMessage:
    """One accepted Segment message: the cleaned message and its event-log record."""

    message: dict[str, Any]
    event: EventRecord
    user_id: str | None
    anonymous_id: str | None


def parse_iso_ms(value: object, field_path: str) -> int:
    """Epoch ms of an ISO-8601 string; without an offset it is read as UTC (as Segment does).

    Any date-time is read, at the edges of the calendar too (``0001-01-01T00:00:00+01:00`` is
    in year 0 in UTC); whether the time is believable is :func:`event_time_ms`'s question.
    """
    if not isinstance(value, str) or not value:
        raise InvalidEvent(field_path, "must be an ISO-8601 date-time string")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidEvent(field_path, f"{value!r} is not an ISO-8601 date-time") from None
    offset = parsed.utcoffset() or timedelta(0)
    # Naive arithmetic: subtracting the offset may leave the years datetime can name.
    return (parsed.replace(tzinfo=None) - _NAIVE_EPOCH - offset) // _MS


_MS: Final = timedelta(milliseconds=1)
_NAIVE_EPOCH: Final = datetime(1970, 1, 1)
FIRST_MS: Final = (datetime(1, 1, 1) - _NAIVE_EPOCH) // _MS
"""0001-01-01T00:00:00.000Z: the first instant :func:`format_iso_ms` can write."""
LAST_MS: Final = (datetime(9999, 12, 31, 23, 59, 59, 999_000) - _NAIVE_EPOCH) // _MS
"""9999-12-31T23:59:59.999Z: the last instant :func:`format_iso_ms` can write."""


def format_iso_ms(ms: int) -> str:
    """``2024-01-02T03:04:05.678Z`` for epoch ms (the form Segment libraries send); ``ms``
    must lie in ``[FIRST_MS, LAST_MS]`` (four-digit years)."""
    dt = _UNIX_EPOCH + ms * _MS
    return (
        f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}:"
        f"{dt.second:02d}.{dt.microsecond // 1000:03d}Z"
    )


def _identity(value: object, field_path: str) -> str | None:
    """Segment ids may be strings or numbers; numbers are stringified as the libraries do."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise InvalidEvent(field_path, "must be a string")
    if isinstance(value, int | float):
        value = str(value)
    if not isinstance(value, str):
        raise InvalidEvent(field_path, "must be a string")
    if not value:
        return None
    if len(value) > MAX_ID_LENGTH:
        raise InvalidEvent(field_path, f"must be at most {MAX_ID_LENGTH} characters")
    return value


def _object(msg: Mapping[str, Any], key: str, path: str) -> dict[str, Any]:
    value = msg.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidEvent(f"{path}.{key}" if path else key, "must be an object")
    return value


def _name_of(msg_type: str, msg: Mapping[str, Any], path: str) -> str:
    def at(key: str) -> str:
        return f"{path}.{key}" if path else key

    if msg_type == "track":
        event = msg.get("event")
        if not isinstance(event, str) or not event.strip():
            raise InvalidEvent(at("event"), "is required for track (a non-empty string)")
        if len(event) > MAX_NAME_LENGTH:
            raise InvalidEvent(at("event"), f"must be at most {MAX_NAME_LENGTH} characters")
        return event
    if msg_type in ("page", "screen"):
        name = msg.get("name")
        if name is not None and not isinstance(name, str):
            raise InvalidEvent(at("name"), "must be a string")
        if name:
            return f"Viewed {name}"[:MAX_NAME_LENGTH]
        return "Loaded a Page" if msg_type == "page" else "Loaded a Screen"
    if msg_type == "identify":
        return "$identify"
    if msg_type == "group":
        return "$groupidentify"
    return "$alias"


def event_time_ms(
    msg: Mapping[str, Any],
    received_ms: int,
    sent_at: object,
    path: str,
    window: TimeWindow | None = None,
) -> int:
    """Segment's event time rule (see the module docstring), checked against ``window`` (and,
    without one, against what an ISO-8601 date-time with a four-digit year can say).

    An out-of-range result names the field it came from; a time corrected for clock skew
    names ``originalTimestamp`` and says so.
    """

    def at(key: str) -> str:
        return f"{path}.{key}" if path else key

    if msg.get("timestamp") is not None:
        ms, source, note = parse_iso_ms(msg["timestamp"], at("timestamp")), "timestamp", ""
    elif msg.get("originalTimestamp") is not None:
        ms, source, note = (
            parse_iso_ms(msg["originalTimestamp"], at("originalTimestamp")),
            "originalTimestamp",
            "",
        )
        sent = msg.get("sentAt", sent_at)
        if sent is not None:
            sent_ms = parse_iso_ms(sent, at("sentAt"))
            ms = received_ms - (sent_ms - ms)
            note = " (corrected by sentAt for the device's clock skew)"
    else:
        return received_ms
    reason = (window or TimeWindow(FIRST_MS, LAST_MS)).error(ms)
    if reason is not None:
        raise InvalidEvent(at(source), f"the event time{note} {reason}")
    return ms


def parse_message(
    obj: object,
    *,
    msg_type: str | None,
    received_ms: int,
    new_id: str,
    sent_at: object = None,
    path: str = "",
    window: TimeWindow | None = None,
    depth: int = MAX_JSON_DEPTH,
) -> SegmentMessage:
    """Validate one Segment message and derive its event record.

    ``msg_type`` is the type the endpoint implies (``/v1/track``); ``None`` for ``/v1/batch``,
    where each message names its own ``type``. ``new_id`` is used when the message has no
    ``messageId``. The event time must lie in ``window`` (the server's time range), and the
    message may nest ``depth`` levels at most. Raises :class:`InvalidEvent` naming the
    offending field (prefixed by ``path``).
    """

    def at(key: str) -> str:
        return f"{path}.{key}" if path else key

    if not isinstance(obj, dict):
        raise InvalidEvent(path, "must be a JSON object")
    deep = too_deep(obj, depth, path)
    if deep is not None:
        raise InvalidEvent(deep, depth_message())
    declared = obj.get("type")
    if msg_type is None:
        if not isinstance(declared, str) or declared not in MESSAGE_TYPES:
            raise InvalidEvent(at("type"), f"must be one of {', '.join(sorted(MESSAGE_TYPES))}")
        msg_type = declared
    elif declared is not None and declared != msg_type:
        raise InvalidEvent(at("type"), f"must be {msg_type!r} on this endpoint")

    user_id = _identity(obj.get("userId"), at("userId"))
    anonymous_id = _identity(obj.get("anonymousId"), at("anonymousId"))
    if msg_type == "alias":
        if user_id is None:
            raise InvalidEvent(at("userId"), "is required for alias")
        if _identity(obj.get("previousId"), at("previousId")) is None:
            raise InvalidEvent(at("previousId"), "is required for alias")
    elif user_id is None and anonymous_id is None:
        raise InvalidEvent(at("userId"), "userId or anonymousId is required")
    if msg_type == "group" and _identity(obj.get("groupId"), at("groupId")) is None:
        raise InvalidEvent(at("groupId"), "is required for group")

    message_id = _identity(obj.get("messageId"), at("messageId")) or new_id
    properties = _object(obj, "properties", path)
    traits = _object(obj, "traits", path)
    context = _object(obj, "context", path)
    _object(obj, "integrations", path)
    name = _name_of(msg_type, obj, path)
    timestamp = event_time_ms(obj, received_ms, sent_at, path, window)

    message = dict(obj)
    message["type"] = msg_type
    message["messageId"] = message_id
    message["timestamp"] = format_iso_ms(timestamp)
    message["receivedAt"] = format_iso_ms(received_ms)
    if user_id is not None:
        message["userId"] = user_id
    if anonymous_id is not None:
        message["anonymousId"] = anonymous_id
    message.pop("writeKey", None)

    session = context.get("session")
    session_id = session.get("id") if isinstance(session, dict) else None
    event_props = properties if msg_type in ("track", "page", "screen") else traits
    record = EventRecord(
        id=message_id,
        name=name,
        type="custom",
        timestamp=timestamp,
        session_id=str(session_id)
        if isinstance(session_id, str | int) and not isinstance(session_id, bool)
        else None,
        properties=event_props,
    )
    return SegmentMessage(message, record, user_id, anonymous_id)
