"""Data-set snapshots (``@device``, ``@user``, ``@custom``, ``@session``, ...) computed from state.

These are the variable namespaces targeting reads and what ``get_data_set_snapshot`` returns, so
they are plain JSON-able dicts built on demand rather than state kept up to date.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tidings.core.campaigns import EngineState
from tidings.core.errors import InvalidInput
from tidings.core.events import Primitive
from tidings.core.profile import DeviceProfile
from tidings.core.sessions import SessionState

DATA_SET_KINDS = ("@device", "@user", "@custom", "@session", "@triggeredEvent", "@events")


def device_snapshot(profile: DeviceProfile, now_ms: int) -> dict[str, Any]:
    """``@device``: the device attributes plus the synchronised time now."""
    return {
        "deviceId": profile.device_id,
        "platform": profile.platform,
        "osVersion": profile.os_version,
        "appVersion": profile.app_version,
        "appInstallVersion": profile.app_install_version,
        "country": profile.country,
        "timezone": profile.timezone,
        "installTime": profile.install_time,
        "serverTime": now_ms,
    }


def user_snapshot(user_id: str | None) -> dict[str, Any]:
    """``@user``: the user id, or null when anonymous."""
    return {"userId": user_id}


def custom_snapshot(properties: Mapping[str, Primitive]) -> dict[str, Any]:
    """``@custom``: every custom property."""
    return dict(properties)


def session_snapshot(state: SessionState, now_ms: int) -> dict[str, Any]:
    """``@session``: counter, id, start, duration so far and events recorded in the session."""
    started = state.started_at
    return {
        "counter": state.counter,
        "id": state.session_id,
        "startedAt": started,
        "duration": max(0, now_ms - started) if started is not None else 0,
        "eventCount": state.event_count,
    }


def check_kind(kind: object) -> str:
    if kind not in DATA_SET_KINDS:
        raise InvalidInput("kind", f"must be one of {', '.join(DATA_SET_KINDS)}")
    return str(kind)


def triggered_event_snapshot(
    engine: EngineState,
    event_name: object,
    *,
    params: object = None,
    count_strategy: object = "global",
    event_type: object = "custom",
    session_id: str | None = None,
) -> dict[str, Any]:
    """``@triggeredEvent``: how many recorded events match, over the device's life or a session.

    Counts filtered by ``params`` exist for the filters campaigns use (and any the engine was asked
    to watch); the plain name/type count is kept for every event.
    """
    if not isinstance(event_name, str) or not event_name:
        raise InvalidInput("eventName", "is required (a non-empty string)")
    if count_strategy not in ("global", "session"):
        raise InvalidInput("countStrategy", "must be global or session")
    kind = _event_type(event_type, "type")
    plist = _params(params, "params")
    if count_strategy == "session":
        return {"count": engine.session_event_count(event_name, kind, plist, session_id)}
    aggregate = engine.event_aggregate(event_name, kind, plist)
    return {"count": 0 if aggregate is None else aggregate[0]}


def events_snapshot(engine: EngineState, queries: object) -> dict[str, Any]:
    """``@events``: ``{name: {count, first, last}}`` for each ``{name, type, params}`` asked."""
    if not isinstance(queries, list):
        raise InvalidInput("events", "must be a list of {name, type, params}")
    out: dict[str, Any] = {}
    for i, query in enumerate(queries):
        path = f"events[{i}]"
        if not isinstance(query, Mapping):
            raise InvalidInput(path, "must be an object {name, type, params}")
        name = query.get("name")
        if not isinstance(name, str) or not name:
            raise InvalidInput(f"{path}.name", "is required (a non-empty string)")
        kind = _event_type(query.get("type", "custom"), f"{path}.type")
        aggregate = engine.event_aggregate(
            name, kind, _params(query.get("params"), f"{path}.params")
        )
        count, first, last = aggregate if aggregate is not None else (0, None, None)
        out[name] = {"count": count, "first": first, "last": last}
    return out


def _event_type(value: object, field_path: str) -> str:
    if value not in ("custom", "system"):
        raise InvalidInput(field_path, "must be custom or system")
    return str(value)


def _params(value: object, field_path: str) -> list[Mapping[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(p, Mapping) for p in value):
        raise InvalidInput(field_path, "must be a list of {name, value}")
    return list(value)
