"""The layout of event-log payloads: written by ingest, read by streams and destinations.

Every stored item carries a JSON payload:

* an SDK event: ``{"source": "sdk", "appId", "device", "userId", "session"[,
  "customProperties"], "event": {...}}``, written as a **prefix** (everything up to and
  including ``,"event":``, the same bytes for every event of an upload and session, stored once)
  followed by the event's own JSON and the closing ``}``;
* an SDK decision: ``{"source": "sdk", "appId", "decision", "device", "userId"}``;
* a Segment-compatible message: ``{"source": "segment", "appId", "event", "message"}``.

This module is the one owner of that layout: :func:`event_prefix` / :func:`event_payload` /
:func:`decision_payload` write it, :func:`laid_out` / :func:`own_event` split a stored event back
into its shared part and its own, and :func:`decode` reads a whole payload.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

SDK_SOURCE = "sdk"
"""``source`` of the items an SDK uploaded."""
EVENT_PREFIX_END = b',"event":'
"""Where the shared prefix of an SDK event's payload ends: the event object follows."""


def event_prefix(
    app_id: str,
    device: Mapping[str, Any],
    user_id: str | None,
    session: Mapping[str, Any] | None,
    custom_properties: Mapping[str, Any] | None,
) -> bytes:
    """The shared start of the payloads of an upload's events in one session."""
    head: dict[str, Any] = {
        "source": SDK_SOURCE,
        "appId": app_id,
        "device": device,
        "userId": user_id,
        "session": session,
    }
    if custom_properties is not None:
        head["customProperties"] = custom_properties
    return orjson.dumps(head)[:-1] + EVENT_PREFIX_END


def event_payload(event: Mapping[str, Any]) -> bytes:
    """An event's own part of its payload (it follows the prefix): its JSON and the closing
    brace of the whole payload."""
    return orjson.dumps(event) + b"}"


def decision_payload(
    app_id: str,
    decision: Mapping[str, Any],
    device: Mapping[str, Any],
    user_id: str | None,
    request_id: str | None = None,
) -> bytes:
    """The payload of a campaign decision an SDK uploaded; ``requestId`` (the upload's
    ``X-Request-Id``) becomes the stream endpoint's ``RequestId``."""
    return orjson.dumps(
        {
            "source": SDK_SOURCE,
            "appId": app_id,
            "decision": decision,
            "device": device,
            "userId": user_id,
            "requestId": request_id,
        }
    )


def laid_out(kind: str, payload: bytes, prefix: bytes) -> bool:
    """Whether a stored payload is ``prefix`` + an event's JSON + ``}`` (an SDK event)."""
    return (
        kind == "event"
        and prefix.endswith(EVENT_PREFIX_END)
        and payload.startswith(prefix)
        and payload.endswith(b"}")
    )


def own_event(payload: bytes, prefix: bytes) -> dict[str, Any] | None:
    """The event object of a payload :func:`laid_out` so, or ``None`` when it is not one."""
    try:
        event = orjson.loads(memoryview(payload)[len(prefix) : -1])
    except orjson.JSONDecodeError:
        return None
    return event if event.__class__ is dict else None


def shared_part(prefix: bytes) -> dict[str, Any] | None:
    """The fields an SDK event's ``prefix`` holds (``source``, ``appId``, ``device``,
    ``userId``, ``session``, ``customProperties``), or ``None`` when it is not such a prefix."""
    if not prefix.endswith(EVENT_PREFIX_END):
        return None
    try:
        head = orjson.loads(prefix[: -len(EVENT_PREFIX_END)] + b"}")
    except orjson.JSONDecodeError:
        return None
    return head if head.__class__ is dict else None


def decode(payload: bytes) -> Any:
    """A whole payload as JSON (raises ``orjson.JSONDecodeError`` when it is not JSON)."""
    return orjson.loads(payload)
