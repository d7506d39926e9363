"""Identify User, Group Identify User and Map User: the form-encoded APIs (reference §2.7-2.9)."""

from __future__ import annotations

from typing import Any

import orjson

from tidings.destinations.amplitude.convert import (
    merge_user_properties,
    to_epoch_ms,
    utm_user_properties,
)
from tidings.destinations.amplitude.events import apply_platform_rules, user_agent_fields
from tidings.destinations.amplitude.schema import IDENTIFY_KEYS
from tidings.destinations.amplitude.settings import Settings
from tidings.destinations.request import Request

LIBRARY = "segment"


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _form(settings: Settings, field: str, value: Any, p: dict[str, Any]) -> dict[str, str]:
    form = {"api_key": settings.api_key, field: _dumps(value)}
    min_id = p.get("min_id_length")
    if isinstance(min_id, int) and min_id > 0:
        form["options"] = _dumps({"min_id_length": min_id})
    return form


def build_identify(p: dict[str, Any], settings: Settings) -> list[Request]:
    """One ``/identify`` request whose ``identification`` is a single JSON object."""
    ident = {k: p[k] for k in IDENTIFY_KEYS if k in p}
    apply_platform_rules(ident, p.get("library"))
    parts = utm_user_properties(p.get("utm_properties") or None, p.get("referrer"))
    if parts:
        traits = dict(ident.get("user_properties") or {})
        traits.pop("utm_properties", None)
        traits.pop("referrer", None)
        ident["user_properties"] = merge_user_properties(traits, *parts)
    ident["library"] = LIBRARY
    parsed = user_agent_fields(p)
    if parsed:
        ident = {**parsed, **ident}
    return [
        Request("POST", settings.url("identify"), form=_form(settings, "identification", ident, p))
    ]


def build_group_identify(
    p: dict[str, Any], settings: Settings, now_ms: int | None = None
) -> list[Request]:
    """Associate the user with the group (when there is a user or device), then set its properties.

    Without a ``time`` the association carries ``now_ms`` when given, else no time at all (Amplitude
    then uses the upload time): building stays pure.
    """
    requests: list[Request] = []
    group_type, group_value = p["group_type"], p["group_value"]
    if p.get("user_id") or p.get("device_id"):
        ms = to_epoch_ms(p["time"]) if "time" in p else None
        if ms is None:
            ms = now_ms
        member: dict[str, Any] = {
            "device_id": p.get("device_id"),
            "groups": {group_type: group_value},
            "insert_id": p.get("insert_id"),
            "library": LIBRARY,
            "time": ms,
            "user_id": p.get("user_id"),
            "user_properties": {group_type: group_value},
        }
        member = {k: v for k, v in member.items() if v is not None or (k == "user_id" and k in p)}
        requests.append(
            Request(
                "POST",
                settings.url("identify"),
                form=_form(settings, "identification", [member], p),
            )
        )
    group: dict[str, Any] = {}
    if "group_properties" in p:  # an undefined member is left out, as JSON.stringify does
        group["group_properties"] = p["group_properties"]
    group.update(group_value=group_value, group_type=group_type, library=LIBRARY)
    requests.append(
        Request(
            "POST",
            settings.url("groupidentify"),
            form=_form(settings, "identification", [group], p),
        )
    )
    return requests


def build_map_user(p: dict[str, Any], settings: Settings) -> list[Request]:
    """One ``/usermap`` request; ``min_id_length`` goes to ``options``, never into the mapping."""
    mapping = {k: p[k] for k in ("user_id", "global_user_id") if k in p}
    return [Request("POST", settings.url("usermap"), form=_form(settings, "mapping", [mapping], p))]
