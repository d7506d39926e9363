"""SDK events as Segment-spec ``track`` messages, the one input every mapping reads.

Messages that came through the Segment-compatible API are used as they arrived; an SDK
:class:`~tidings.core.events.EventRecord` plus what is known about the device, user and session
becomes the message of docs/spec/amplitude.md ("Input"). A ``CustomPropertyChanged`` message also
carries its change as a user-property operation (``userPropertyOperations``), which the mapping
language could not build (its key is a value of the event). Pure: no clock, no lookups.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from tidings.core.events import CUSTOM_PROPERTY_CHANGED, EventRecord
from tidings.core.profile import DeviceProfile
from tidings.version import VERSION

LIBRARY_NAME = "tidings-python"

_EPOCH = datetime(1970, 1, 1)  # naive: UTC by construction

OS_NAMES = {"ios": "iOS", "android": "Android", "macos": "Mac OS", "windows": "Windows"}


@dataclass(frozen=True, slots=True)
class MessageContext:
    """What the event record itself does not carry.

    ``session_started_at`` is the epoch ms the event's session began (Amplitude's session id);
    ``session_counter`` is the device's session count (1 in the first session), when known.
    """

    user_id: str | None = None
    traits: Mapping[str, Any] = field(default_factory=dict)
    session_started_at: int | None = None
    session_counter: int | None = None
    device_model: str | None = None
    device_manufacturer: str | None = None
    os_name: str | None = None
    locale: str | None = None
    library_version: str = VERSION


_NO_CONTEXT = MessageContext()


def iso_ms(epoch_ms: int) -> str:
    """``2021-08-17T15:21:15.449Z`` for an epoch-ms timestamp."""
    # The events of a batch fall within a few seconds: the text up to the second is kept for
    # the seconds seen last, and otherwise made with the date formatted once per day and the
    # time of day by integer arithmetic (exact, and a third of a datetime's cost).
    whole, millis = divmod(epoch_ms, 1000)
    text = _ISO_SECONDS.get(whole)
    if text is None:
        days, seconds = divmod(whole, 86_400)
        minutes, second = divmod(seconds, 60)
        hour, minute = divmod(minutes, 60)
        text = f"{_iso_day(days)}T{hour:02d}:{minute:02d}:{second:02d}"
        if len(_ISO_SECONDS) >= 4096:
            _ISO_SECONDS.clear()
        _ISO_SECONDS[whole] = text
    return f"{text}.{millis:03d}Z"


_ISO_SECONDS: dict[int, str] = {}


@lru_cache(maxsize=1024)
def _iso_day(days: int) -> str:
    """``2021-08-17`` for a day number since the epoch (``OverflowError`` out of range)."""
    return (_EPOCH + timedelta(days=days)).date().isoformat()


USER_PROPERTY_OPERATIONS = "userPropertyOperations"
"""The message key of a ``CustomPropertyChanged`` event's change as an Amplitude user-property
operation: ``{"$set": {key: newValue}}``, or ``{"$unset": {key: "-"}}`` for a removal."""


def property_change(properties: Mapping[str, Any]) -> dict[str, Any] | None:
    """The user-property operation of a ``CustomPropertyChanged`` event's properties, or
    ``None`` when they name no key."""
    key = properties.get("key")
    if not isinstance(key, str) or not key:
        return None
    if "newValue" in properties:
        return {"$set": {key: properties["newValue"]}}
    return {"$unset": {key: "-"}}


AMPLITUDE_INTEGRATIONS = ("Actions Amplitude", "Amplitude (Actions)")
"""The names Segment's ``integrations`` object knows the Amplitude (Actions) destination by."""


def integration_enabled(message: Mapping[str, Any], names: tuple[str, ...]) -> bool:
    """Whether the message's ``integrations`` object lets it reach the destination ``names``
    (Segment's rules: names are case-sensitive; a named flag decides when given, an options
    object counting as on; otherwise ``All`` does, and it defaults to on)."""
    integrations = message.get("integrations")
    if not integrations or not isinstance(integrations, Mapping):
        return True
    named = [integrations[name] for name in names if name in integrations]
    if named:
        return all(map(_js_truthy, named))
    return integrations.get("All", True) is not False


def _js_truthy(value: Any) -> bool:
    """JavaScript's truthiness: an object or a list is true even when empty."""
    if isinstance(value, Mapping | list):
        return True
    if isinstance(value, float):
        return not (value == 0 or math.isnan(value))
    return bool(value)


def _put(obj: dict[str, Any], key: str, value: Any) -> None:
    """``obj[key] = value`` unless the value is unknown (``None``) or an empty object."""
    if value is not None and value != {}:
        obj[key] = value


def to_segment_message(
    event: EventRecord, device: DeviceProfile, ctx: MessageContext | None = None
) -> dict[str, Any]:
    """The ``track`` message for one SDK event (unknown context values are left out)."""
    # Built key by key rather than by filtering literals: this runs once per
    # delivered event, and the key order is the same either way.
    ctx = ctx or _NO_CONTEXT
    platform = device.platform
    os_name = ctx.os_name or (OS_NAMES.get(platform.lower(), platform) if platform else None)
    session: dict[str, Any] = {}
    _put(session, "id", event.session_id)
    _put(session, "startedAt", ctx.session_started_at)
    if ctx.session_counter is not None and session:
        session["counter"] = ctx.session_counter
    dev: dict[str, Any] = {}
    _put(dev, "id", device.device_id or None)
    _put(dev, "type", platform)
    _put(dev, "model", ctx.device_model)
    _put(dev, "manufacturer", ctx.device_manufacturer)
    os: dict[str, Any] = {}
    _put(os, "name", os_name)
    _put(os, "version", device.os_version)
    context: dict[str, Any] = {}
    _put(context, "device", dev)
    _put(context, "os", os)
    if device.app_version is not None:
        context["app"] = {"version": device.app_version}
    _put(context, "locale", ctx.locale)
    _put(context, "timezone", device.timezone)
    context["library"] = {"name": LIBRARY_NAME, "version": ctx.library_version}
    _put(context, "session", session)
    message = {
        "type": "track",
        "event": event.name,
        "messageId": event.id,
        "anonymousId": device.device_id or None,  # none is left out downstream, never ""
        "userId": ctx.user_id,
        "properties": dict(event.properties),
        "traits": dict(ctx.traits),
        "timestamp": iso_ms(event.timestamp),
        "context": context,
        "integrations": {},
    }
    if event.name == CUSTOM_PROPERTY_CHANGED:
        _put(message, USER_PROPERTY_OPERATIONS, property_change(event.properties))
    return message
