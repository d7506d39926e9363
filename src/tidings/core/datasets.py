"""Data-set snapshots (``@device``, ``@user``, ``@custom``, ``@session``, ...) computed from state.

These are the variable namespaces targeting reads and what ``get_data_set_snapshot`` returns, so
they are plain JSON-able dicts built on demand rather than state kept up to date.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
