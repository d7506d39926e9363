"""The device: sessions, custom properties, identity and event recording in one pure object.

The SDK and ``tidings simulate`` both drive this class; neither re-implements the ordering rules of
docs/spec/events.md. Every call takes ``now_ms`` and returns the outputs it caused, in order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tidings.core import datasets as ds
from tidings.core import events as ev
from tidings.core.campaigns import SUCCESS, CampaignEngine, Decision, EngineState, EvaluationContext
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
    engine: EngineState = field(default_factory=EngineState)

    def to_json(self) -> dict[str, Any]:
        return {
            "session": self.session.to_json(),
            "properties": dict(self.properties),
            "userId": self.user_id,
            "lastConfigFetch": self.last_config_fetch,
            "engine": self.engine.to_json(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DeviceState:
        return cls(
            session=SessionState.from_json(dict(data.get("session") or {})),
            properties=dict(data.get("properties") or {}),
            user_id=data.get("userId"),
            last_config_fetch=data.get("lastConfigFetch"),
            engine=EngineState.from_json(data["engine"]) if data.get("engine") else EngineState(),
        )


Output = EventRecord | Decision
"""What a device call returns, in order: each recorded event, followed by the campaign decisions
it caused (rank order), then the ``CampaignShown`` the winning decision recorded."""

_NO_CAMPAIGNS = CampaignEngine(())


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
        campaigns: CampaignEngine | None = None,
        cohorts: frozenset[str] = frozenset(),
    ) -> None:
        self.profile = profile
        self.ids = ids
        self.state = state if state is not None else DeviceState()
        self.sessions = SessionMachine(self.state.session, session_timeout_ms)
        self._properties = CustomProperties(self.state.properties)
        self.config_refresh_ms = config_refresh_ms
        self.campaigns = campaigns if campaigns is not None else _NO_CAMPAIGNS
        self.cohorts = cohorts
        self.has_rate_review_handler = False
        """When false, a RateReview campaign that fires resolves at once as SkippedNoPresenter."""

    def set_campaigns(self, engine: CampaignEngine) -> None:
        """Apply a new configuration; counters and show history carry over by campaign id."""
        self.campaigns = engine

    def set_cohorts(self, cohorts: frozenset[str]) -> None:
        self.cohorts = cohorts

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
        event = self._append(checked_name, "custom", checked, now_ms)
        name_et, props_et = ev.event_triggered(checked_name, checked)
        mirror = self._append(name_et, "system", props_et, now_ms)
        # Nothing the evaluation of ``event`` records changes the context: one serves both.
        ctx = self.context()
        return [event, mirror, *self._evaluate(event, ctx), *self._evaluate(mirror, ctx)]

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
        record = self._append(name, "system", properties, now_ms)
        return [record, *self._evaluate(record)]

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
                finished = EventRecord(
                    id=self.ids.new_id(change.at),
                    name=ev.SESSION_FINISHED,
                    type="system",
                    timestamp=change.at,
                    session_id=change.session_id,
                    properties={},
                )
                # The session it ends is over and had no surface left: it is counted, never shown.
                self._process(finished, foreground=False)
                out.append(finished)
            else:
                name, props = ev.session_started(change.type)
                started = self._append(name, "system", props, change.at)
                out += [started, *self._evaluate(started)]
        return out

    # --- data sets -----------------------------------------------------------------------------

    def snapshot(self, kind: object, now_ms: int, **params: Any) -> dict[str, Any]:
        """``get_data_set_snapshot``: ``@device``, ``@user``, ``@custom``, ``@session``,
        ``@triggeredEvent`` (``eventName``, ``params``, ``countStrategy``, ``type``) or ``@events``
        (``events``: a list of ``{name, type, params}``)."""
        kind = ds.check_kind(kind)
        st = self.state
        if kind == "@device":
            return ds.device_snapshot(self.profile, now_ms)
        if kind == "@user":
            return ds.user_snapshot(st.user_id)
        if kind == "@custom":
            return ds.custom_snapshot(self._properties.values)
        if kind == "@session":
            return ds.session_snapshot(st.session, now_ms)
        if kind == "@triggeredEvent":
            return ds.triggered_event_snapshot(
                st.engine,
                params.get("eventName"),
                params=params.get("params"),
                count_strategy=params.get("countStrategy", "global"),
                event_type=params.get("type", "custom"),
                session_id=st.session.session_id,
            )
        return ds.events_snapshot(st.engine, params.get("events", []))

    # --- campaigns -----------------------------------------------------------------------------

    def context(self, *, foreground: bool | None = None) -> EvaluationContext:
        """What targeting sees right now."""
        st = self.state
        return EvaluationContext(
            profile=self.profile,
            user_id=st.user_id,
            custom_properties=self._properties.values,
            session_id=st.session.session_id,
            session_counter=st.session.counter,
            cohorts=self.cohorts,
            foreground=st.session.foreground if foreground is None else foreground,
        )

    def _process(self, event: EventRecord, *, foreground: bool | None = None) -> list[Decision]:
        ctx = self.context(foreground=foreground)
        return self.campaigns.process(event, ctx, self.state.engine)

    def _evaluate(self, event: EventRecord, ctx: EvaluationContext | None = None) -> list[Output]:
        """Judge a recorded event; record ``CampaignShown`` (and what follows) for the winner."""
        if ctx is None:
            decisions = self._process(event)
        else:
            decisions = self.campaigns.process(event, ctx, self.state.engine)
        out: list[Output] = list(decisions)
        for decision in decisions:
            if decision.status != SUCCESS:
                continue
            name, props = ev.campaign_shown(event.name, decision.campaign_id)
            shown = self._append(name, "system", props, event.timestamp)
            self._process(shown)
            out.append(shown)
            if decision.campaign.type == "RateReview" and not self.has_rate_review_handler:
                out += self.campaign_resolved(
                    decision.campaign_id, "SkippedNoPresenter", None, event.timestamp
                )
        return out

    def _property_changes(self, changes: list[PropertyChange], now_ms: int) -> list[Output]:
        out: list[Output] = []
        for c in changes:
            out += self.record(*ev.custom_property_changed(c.key, c.old, c.new), now_ms)
        return out
