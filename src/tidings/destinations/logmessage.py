"""The canonical message of an event-log payload: what every destination kind maps from.

:func:`message_from_payload` turns a stored payload (docs/server.md, "Event log payloads") into
the Segment-spec message every kind reads: Segment messages as they came, SDK events through
:func:`sdk_message` (the one-pass equal of
:func:`~tidings.destinations.message.to_segment_message`). Decisions are not exported (their
``CampaignShown`` / ``CampaignResolved`` events are).

Pure, and no kind's own: the Amplitude kinds and the webhook kind read the same message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeGuard

from tidings.core.events import CUSTOM_PROPERTY_CHANGED, EventRecord
from tidings.core.profile import DeviceProfile
from tidings.destinations.message import (
    LIBRARY_NAME,
    OS_NAMES,
    USER_PROPERTY_OPERATIONS,
    MessageContext,
    iso_ms,
    property_change,
    to_segment_message,
)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _is_map(value: object) -> TypeGuard[Mapping[str, Any]]:
    """``isinstance(value, Mapping)``, answering decoded JSON objects without the ABC check."""
    return value.__class__ is dict or isinstance(value, Mapping)


def _int(value: object) -> int | None:
    return value if type(value) is int else None


_EMPTY: Mapping[str, Any] = {}
_LIBRARY_VERSION = MessageContext().library_version


def message_from_payload(
    kind: str,
    payload: Mapping[str, Any],
    *,
    device_id: str | None = None,
    user_id: str | None = None,
) -> dict[str, Any] | None:
    """The canonical ``track``/``identify``/... message of one log row, or ``None`` for rows that
    export nothing (decisions, payloads without an event)."""
    if kind != "event":
        return None
    if payload.get("source") == "segment":
        message = payload.get("message")
        return dict(message) if _is_map(message) else None
    return sdk_message(payload, device_id=device_id, user_id=user_id)


def sdk_message(
    payload: Mapping[str, Any], *, device_id: str | None = None, user_id: str | None = None
) -> dict[str, Any] | None:
    """:func:`~tidings.destinations.message.to_segment_message` of an SDK payload, built in one
    pass (no intermediate records).

    This runs once per delivered event, so it reads the payload straight into the message;
    :func:`reference_sdk_message` is the same through ``EventRecord``/``DeviceProfile`` and
    tests hold the two to the same output.
    """
    event = payload.get("event")
    if not _is_map(event):
        return None
    device = payload.get("device")
    dev: Mapping[str, Any] = device if _is_map(device) else _EMPTY
    session = payload.get("session")
    sess: Mapping[str, Any] = session if _is_map(session) else _EMPTY
    # No device id is no device id: left out (``None``), never ``""`` or a placeholder, so a
    # receiver keyed on it (Amplitude's ``device_id``) sees the user id alone.
    anonymous = _text(dev.get("deviceId")) or device_id or None
    platform = _text(dev.get("platform"))
    custom = payload.get("customProperties")
    uid = _text(payload.get("userId", user_id))
    msg_session: dict[str, Any] = {}
    session_id = _text(event.get("sessionId"))
    if session_id is not None:
        msg_session["id"] = session_id
    started = _int(sess.get("startedAt"))
    if started is not None:
        msg_session["startedAt"] = started
    counter = _int(sess.get("counter"))
    if counter is not None and msg_session:
        msg_session["counter"] = counter
    msg_device: dict[str, Any] = {} if anonymous is None else {"id": anonymous}
    if platform is not None:
        msg_device["type"] = platform
    model = _text(dev.get("model"))
    if model is not None:
        msg_device["model"] = model
    manufacturer = _text(dev.get("manufacturer"))
    if manufacturer is not None:
        msg_device["manufacturer"] = manufacturer
    context: dict[str, Any] = {"device": msg_device} if msg_device else {}
    msg_os: dict[str, Any] = {}
    if platform is not None:
        msg_os["name"] = OS_NAMES.get(platform.lower(), platform)
    os_version = _text(dev.get("osVersion"))
    if os_version is not None:
        msg_os["version"] = os_version
    if msg_os:
        context["os"] = msg_os
    app_version = _text(dev.get("appVersion"))
    if app_version is not None:
        context["app"] = {"version": app_version}
    locale = _text(dev.get("locale"))
    if locale is not None:
        context["locale"] = locale
    timezone = _text(dev.get("timezone"))
    if timezone is not None:
        context["timezone"] = timezone
    context["library"] = {"name": LIBRARY_NAME, "version": _LIBRARY_VERSION}
    if msg_session:
        context["session"] = msg_session
    message = {
        "type": "track",
        "event": "",
        "messageId": "",
        "anonymousId": anonymous,
        "userId": uid,
        "properties": _EMPTY,
        "traits": dict(custom) if _is_map(custom) else {},
        "timestamp": "",
        "context": context,
        "integrations": {},
    }
    _set_own_keys(message, event)
    return message


EVENT_ROOTS = frozenset({"event", "messageId", "properties", "timestamp", USER_PROPERTY_OPERATIONS})
"""The keys of an SDK event's message that come from the event itself. The others come from what
its upload shares (device, user, custom properties, session) and the event's ``sessionId``."""


def _set_own_keys(message: dict[str, Any], event: Mapping[str, Any]) -> None:
    """Put ``event``'s own keys (:data:`EVENT_ROOTS`) into its message."""
    props = event.get("properties")
    name = message["event"] = str(event.get("name") or "")
    message["messageId"] = str(event.get("id") or "")
    properties = message["properties"] = dict(props) if _is_map(props) else {}
    message["timestamp"] = iso_ms(int(event.get("timestamp") or 0))
    change = property_change(properties) if name == CUSTOM_PROPERTY_CHANGED else None
    if change is not None:
        message[USER_PROPERTY_OPERATIONS] = change
    elif USER_PROPERTY_OPERATIONS in message:  # copied from another event of the upload
        del message[USER_PROPERTY_OPERATIONS]


def message_over(shared: Mapping[str, Any], event: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`sdk_message` of ``event``, given ``shared``: the message of another event of the
    same upload with the same ``sessionId``. Only the event's own keys are built."""
    message = dict(shared)
    _set_own_keys(message, event)
    return message


def reference_sdk_message(
    payload: Mapping[str, Any], *, device_id: str | None = None, user_id: str | None = None
) -> dict[str, Any] | None:
    """:func:`sdk_message` the long way, through the SDK's own records (the reference)."""
    event = payload.get("event")
    if not _is_map(event):
        return None
    device = payload.get("device")
    dev: Mapping[str, Any] = device if _is_map(device) else {}
    session = payload.get("session")
    sess: Mapping[str, Any] = session if _is_map(session) else {}
    props = event.get("properties")
    record = EventRecord(
        id=str(event.get("id") or ""),
        name=str(event.get("name") or ""),
        type=event.get("type", "custom"),
        timestamp=int(event.get("timestamp") or 0),
        session_id=_text(event.get("sessionId")),
        properties=dict(props) if _is_map(props) else {},
    )
    profile = DeviceProfile(
        device_id=_text(dev.get("deviceId")) or device_id or "",
        platform=_text(dev.get("platform")),
        os_version=_text(dev.get("osVersion")),
        app_version=_text(dev.get("appVersion")),
        app_install_version=_text(dev.get("appInstallVersion")),
        country=_text(dev.get("country")),
        timezone=_text(dev.get("timezone")),
        install_time=_int(dev.get("installTime")),
        application=_text(payload.get("appId")),
    )
    custom = payload.get("customProperties")
    uid = payload.get("userId", user_id)
    ctx = MessageContext(
        user_id=_text(uid),
        traits=dict(custom) if _is_map(custom) else {},
        session_started_at=_int(sess.get("startedAt")),
        session_counter=_int(sess.get("counter")),
        device_model=_text(dev.get("model")),
        device_manufacturer=_text(dev.get("manufacturer")),
        locale=_text(dev.get("locale")),
    )
    return to_segment_message(record, profile, ctx)
