"""``get_data_set_snapshot``: the core's data-set builders over the device's current state.

Both spellings of the parameters are accepted: the contract's (``eventName``, ``countStrategy``,
``type``, ``data``) as in Amply's bridges, and Python's (``event_name``, ``count_strategy``,
``event_type``, ``events``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tidings.core.datasets import (
    custom_snapshot,
    device_snapshot,
    events_snapshot,
    session_snapshot,
    triggered_event_snapshot,
    user_snapshot,
)
from tidings.core.device import Device


def _param(params: Mapping[str, Any], snake: str, camel: str, default: Any = None) -> Any:
    return params.get(snake, params.get(camel, default))


def data_set(device: Device, kind: str, params: Mapping[str, Any], now_ms: int) -> dict[str, Any]:
    """One data set, computed now (the caller holds the client's lock)."""
    state = device.state
    if kind == "@device":
        return device_snapshot(device.profile, now_ms)
    if kind == "@user":
        return user_snapshot(state.user_id)
    if kind == "@custom":
        return custom_snapshot(device.custom_properties)
    if kind == "@session":
        return session_snapshot(state.session, now_ms)
    if kind == "@triggeredEvent":
        return triggered_event_snapshot(
            state.engine,
            _param(params, "event_name", "eventName"),
            params=params.get("params"),
            count_strategy=_param(params, "count_strategy", "countStrategy", "global"),
            event_type=_param(params, "event_type", "type", "custom"),
            session_id=state.session.session_id,
        )
    return events_snapshot(state.engine, _param(params, "events", "data", []))
