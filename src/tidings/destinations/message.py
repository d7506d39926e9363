"""SDK events as Segment-spec ``track`` messages, the one input every mapping reads.

Messages that came through the Segment-compatible API are used as they arrived; an SDK
:class:`~tidings.core.events.EventRecord` plus what is known about the device, user and session
becomes the message of contracts/amplitude.md ("Input"). Pure: no clock, no lookups.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tidings.core.events import EventRecord
from tidings.core.profile import DeviceProfile

LIBRARY_NAME = "tidings-python"

_OS_NAMES = {"ios": "iOS", "android": "Android", "macos": "Mac OS", "windows": "Windows"}


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
    library_version: str = "0.1.0"


def iso_ms(epoch_ms: int) -> str:
    """``2021-08-17T15:21:15.449Z`` for an epoch-ms timestamp."""
    moment = datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"


def _drop_none(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if v is not None and v != {}}


def to_segment_message(
    event: EventRecord, device: DeviceProfile, ctx: MessageContext | None = None
) -> dict[str, Any]:
    """The ``track`` message for one SDK event (unknown context values are left out)."""
    ctx = ctx or MessageContext()
    platform = device.platform
    os_name = ctx.os_name or (_OS_NAMES.get(platform.lower(), platform) if platform else None)
    session = _drop_none({"id": event.session_id, "startedAt": ctx.session_started_at})
    if ctx.session_counter is not None and session:
        session["counter"] = ctx.session_counter
    context = _drop_none(
        {
            "device": _drop_none(
                {
                    "id": device.device_id,
                    "type": platform,
                    "model": ctx.device_model,
                    "manufacturer": ctx.device_manufacturer,
                }
            ),
            "os": _drop_none({"name": os_name, "version": device.os_version}),
            "app": _drop_none({"version": device.app_version}),
            "locale": ctx.locale,
            "timezone": device.timezone,
            "library": {"name": LIBRARY_NAME, "version": ctx.library_version},
            "session": session,
        }
    )
    return {
        "type": "track",
        "event": event.name,
        "messageId": event.id,
        "anonymousId": device.device_id,
        "userId": ctx.user_id,
        "properties": dict(event.properties),
        "traits": dict(ctx.traits),
        "timestamp": iso_ms(event.timestamp),
        "context": context,
        "integrations": {},
    }
