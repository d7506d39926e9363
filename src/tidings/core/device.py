"""The device: sessions, custom properties, identity and event recording in one pure object.

The SDK and ``tidings simulate`` both drive this class; neither re-implements the ordering rules of
contracts/events.md. Every call takes ``now_ms`` and returns the outputs it caused, in order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tidings.core import events as ev
from tidings.core.errors import InvalidEvent, TidingsError
from tidings.core.events import EventRecord, EventType, JsonValue, Primitive
from tidings.core.ids import IdFactory
from tidings.core.profile import DeviceProfile
from tidings.core.properties import CustomProperties, PropertyChange
from tidings.core.sessions import (
    DEFAULT_SESSION_TIMEOUT_MS,
    SessionChange,
    SessionEnd,
    SessionMachine,
    SessionState,
)

DEFAULT_CONFIG_REFRESH_MS = 3_600_000


class NoSession(TidingsError):
    """An event was recorded before ``launch`` (or after ``terminate``)."""


@dataclass(slots=True)
class DeviceState:
    """What a device persists: sessions, properties, identity, and when config was last fetched."""

    session: SessionState = field(default_factory=SessionState)
    properties: dict[str, Primitive] = field(default_factory=dict)
    user_id: str | None = None
    last_config_fetch: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "session": self.session.to_json(),
            "properties": dict(self.properties),
            "userId": self.user_id,
            "lastConfigFetch": self.last_config_fetch,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DeviceState:
        return cls(
            session=SessionState.from_json(dict(data.get("session") or {})),
            properties=dict(data.get("properties") or {}),
            user_id=data.get("userId"),
            last_config_fetch=data.get("lastConfigFetch"),
        )


Output = EventRecord


class Device:
    """One device's event-recording logic, independent of any I/O."""

    def __init__(
        self,
        profile: DeviceProfile,
        ids: IdFactory,
        *,
        state: DeviceState | None = None,
        session_timeout_ms: int = DEFAULT_SESSION_TIMEOUT_MS,
        config_refresh_ms: int = DEFAULT_CONFIG_REFRESH_MS,
    ) -> None:
        self.profile = profile
        self.ids = ids
        self.state = state if state is not None else DeviceState()
        self.sessions = SessionMachine(self.state.session, session_timeout_ms)
        self._properties = CustomProperties(self.state.properties)
        self.config_refresh_ms = config_refresh_ms

    # --- lifecycle -----------------------------------------------------------------------------

    def launch(self, now_ms: int) -> list[Output]:
        """Process start: finish a crashed session, start a cold one, report SDK set-up."""
        out = self._session_changes(self.sessions.launch(now_ms, self.ids.new_id), now_ms)
        out += self.record(*ev.sdk_initialized(), now_ms)
        return out

    def background(self, now_ms: int) -> list[Output]:
        return self._session_changes(self.sessions.background(now_ms), now_ms)

    def foreground(self, now_ms: int) -> list[Output]:
        return self._session_changes(self.sessions.foreground(now_ms, self.ids.new_id), now_ms)

    def terminate(self, now_ms: int) -> list[Output]:
        return self._session_changes(self.sessions.terminate(now_ms), now_ms)

    @property
    def in_foreground(self) -> bool:
        return self.state.session.foreground

    def config_is_stale(self, now_ms: int) -> bool:
        """True when the cached configuration is older than the refresh interval (or absent)."""
        last = self.state.last_config_fetch
        return last is None or now_ms - last >= self.config_refresh_ms

    def config_fetch_started(self, now_ms: int) -> list[Output]:
        return self.record(*ev.config_fetch_started(), now_ms)

    def config_fetch_finished(
        self, now_ms: int, success: bool, campaigns: list[tuple[str, str]]
    ) -> list[Output]:
        """Report a finished fetch; the caller has already applied its result."""
        if success:
            self.state.last_config_fetch = now_ms
        return self.record(*ev.config_fetch_finished(success, campaigns), now_ms)

    # --- app calls -----------------------------------------------------------------------------

    def track(self, name: object, properties: object, now_ms: int) -> list[Output]:
        """``track(name, properties)``: the event, then ``EventTriggered`` mirroring it."""
        checked_name, checked = ev.validate_custom_event(name, properties)
        self._require_session()
        out = [self._append(checked_name, "custom", checked, now_ms)]
        name_et, props_et = ev.event_triggered(checked_name, checked)
        out.append(self._append(name_et, "system", props_et, now_ms))
        return out

    def set_user_id(self, user_id: object) -> None:
        if user_id is not None and (not isinstance(user_id, str) or not user_id):
            raise InvalidEvent("userId", "must be a non-empty string or null")
        self.state.user_id = user_id

    @property
    def custom_properties(self) -> Mapping[str, Primitive]:
        return self._properties.values

    def set_custom_property(self, key: object, value: object, now_ms: int) -> list[Output]:
        self._require_session()
        return self._property_changes(self._properties.set(key, value), now_ms)

    def set_custom_properties(self, mapping: object, now_ms: int) -> list[Output]:
        self._require_session()
        return self._property_changes(self._properties.set_many(mapping), now_ms)

    def remove_custom_property(self, key: object, now_ms: int) -> list[Output]:
        self._require_session()
        return self._property_changes(self._properties.remove(key), now_ms)

    def clear_custom_properties(self, now_ms: int) -> list[Output]:
        self._require_session()
        return self._property_changes(self._properties.clear(), now_ms)

    def campaign_resolved(
        self, campaign_id: str, result: str, unavailable_reason: str | None, now_ms: int
    ) -> list[Output]:
        return self.record(*ev.campaign_resolved(campaign_id, result, unavailable_reason), now_ms)

    # --- recording -----------------------------------------------------------------------------

    def record(self, name: str, properties: dict[str, JsonValue], now_ms: int) -> list[Output]:
        """Record one system event in the current session."""
        self._require_session()
        return [self._append(name, "system", properties, now_ms)]

    def _append(
        self, name: str, kind: EventType, properties: Mapping[str, JsonValue], now_ms: int
    ) -> EventRecord:
        record = EventRecord(
            id=self.ids.new_id(now_ms),
            name=name,
            type=kind,
            timestamp=now_ms,
            session_id=self.state.session.session_id,
            properties=properties,
        )
        self.sessions.record(now_ms)
        return record

    def _require_session(self) -> None:
        if not self.state.session.in_session:
            raise NoSession("no session is running: launch the app first")

    def _session_changes(self, changes: list[SessionChange], now_ms: int) -> list[Output]:
        out: list[Output] = []
        for change in changes:
            if isinstance(change, SessionEnd):
                out.append(
                    EventRecord(
                        id=self.ids.new_id(change.at),
                        name=ev.SESSION_FINISHED,
                        type="system",
                        timestamp=change.at,
                        session_id=change.session_id,
                        properties={},
                    )
                )
            else:
                name, props = ev.session_started(change.type)
                out.append(self._append(name, "system", props, change.at))
        return out

    def _property_changes(self, changes: list[PropertyChange], now_ms: int) -> list[Output]:
        out: list[Output] = []
        for c in changes:
            out += self.record(*ev.custom_property_changed(c.key, c.old, c.new), now_ms)
        return out
