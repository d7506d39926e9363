"""``preview``: the requests one message produces, in the public preview format, sending nothing.

The input is a Segment message, or SDK events in any of the shapes the SDK and the server write
them: one event record (``{"id", "name", "type": "custom" | "system", ...}``), a stored event-log
payload (``{"source": "sdk", "device", "event", ...}``) or a whole upload body (``{"device",
"user", "sessions", "events": [...]}``). SDK events become the canonical message delivery builds
for them, so a preview shows what delivery sends.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tidings.core.errors import InvalidConfig, InvalidInput
from tidings.destinations.amplitude.actions import Subscription, presets
from tidings.destinations.amplitude.instance import Destination
from tidings.destinations.amplitude.settings import Settings
from tidings.destinations.logmessage import message_from_payload
from tidings.destinations.request import Request

SEGMENT_TYPES = frozenset({"track", "identify", "page", "screen", "group", "alias"})


def preview(
    message: Mapping[str, Any],
    action: str | None = None,
    *,
    settings: Mapping[str, Any] | None = None,
    mapping: Mapping[str, Any] | None = None,
    preset: str | None = None,
    now_ms: int | None = None,
) -> list[dict[str, Any]]:
    """Build (not send) the requests for ``message`` (a Segment message or SDK events).

    With ``action`` (or ``preset``), what that action would send: the trigger is not applied,
    and ``mapping`` merges over the action's (or preset's) defaults field by field. With
    neither, what an instance with these settings and its presets sends: every preset whose
    trigger matches, as delivery routes (Segment's ``integrations`` object included).
    """
    parsed = Settings.from_json(settings)
    if preset is not None:
        known = presets(parsed.purchase_events)
        if preset not in known:
            raise InvalidConfig("preset", f"unknown preset {preset!r}; known: {', '.join(known)}")
        trigger, preset_action, preset_mapping = known[preset]
        if action is not None and action != preset_action:
            raise InvalidConfig(
                "action", f"preset {preset!r} uses {preset_action!r}, not {action!r}"
            )
        merged = {**preset_mapping, **(mapping or {})}
        sub = Subscription(name=preset, action=preset_action, trigger=trigger, mapping=merged)
    elif action is not None:
        sub = Subscription(name=action, action=action, mapping=dict(mapping or {}))
    elif mapping:
        raise InvalidConfig("mapping", "give an action or a preset to merge a mapping over")
    else:
        sub = None
    routed = Destination.from_json({"settings": settings}) if sub is None else None
    built: list[Request] = []
    for one in canonical_messages(message):
        if routed is not None:
            built.extend(routed.requests(one, now_ms))
        elif sub is not None:
            built.extend(sub.build(one, parsed, now_ms))
    return [r.to_preview() for r in built]


def canonical_messages(data: object) -> list[dict[str, Any]]:
    """The messages mappings read for ``data``: a Segment message as it is, or the canonical
    message of each SDK event it holds (see the module)."""
    if not isinstance(data, Mapping):
        raise InvalidInput("message", "must be a JSON object")
    kind = data.get("type")
    if kind in SEGMENT_TYPES:
        return [dict(data)]
    if isinstance(data.get("events"), list):
        return [_one(payload) for payload in _upload_payloads(data)]
    if isinstance(data.get("event"), Mapping):
        return [_one(data)]
    if kind in ("custom", "system") and isinstance(data.get("name"), str):
        return [_one({"event": data})]
    raise InvalidInput(
        "message",
        "must be a Segment message (type track, identify, page, screen, group or alias) or SDK"
        " events: an event record, a stored event payload or an upload body",
    )


def _one(payload: Mapping[str, Any]) -> dict[str, Any]:
    message = message_from_payload("event", payload)
    if message is None:  # pragma: no cover - every shape above holds an event
        raise InvalidInput("message", "holds no event")
    return message


def _upload_payloads(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The stored payload of each event of an upload body (docs/server.md)."""
    user = body.get("user") if isinstance(body.get("user"), Mapping) else {}
    assert isinstance(user, Mapping)
    sessions = {s.get("id"): s for s in body.get("sessions") or () if isinstance(s, Mapping)}
    out = []
    for index, event in enumerate(body["events"]):
        if not isinstance(event, Mapping):
            raise InvalidInput(f"events[{index}]", "must be a JSON object")
        payload: dict[str, Any] = {
            "source": "sdk",
            "device": body.get("device"),
            "userId": user.get("userId"),
            "session": sessions.get(event.get("sessionId")),
            "event": event,
        }
        if isinstance(user.get("customProperties"), Mapping):
            payload["customProperties"] = user["customProperties"]
        out.append(payload)
    return out
