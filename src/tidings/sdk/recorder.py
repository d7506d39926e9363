"""The recording core of the client: commit outputs, save and recover state, perform actions.

:class:`Recorder` holds the device's state and is the part of the client
(:class:`~tidings.sdk.client.Tidings`, which holds one) that runs with the client's lock held: it
turns the outputs of the pure device into one store transaction and into tasks for the worker
(listeners, deep links, rate-review handlers, gate presenters). The public API around it lives in
``client.py``, the configuration fetch in ``fetch.py``.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import orjson

from tidings.core.actions import action_info, deep_link_url
from tidings.core.campaigns import SUCCESS, CampaignEngine, Decision, local_day, zone
from tidings.core.device import Device, DeviceState, Output
from tidings.core.envelope import UploadHead
from tidings.core.events import (
    CAMPAIGN_SHOWN,
    NOT_OBSERVABLE_EVENTS,
    SESSION_FINISHED,
    SESSION_STARTED,
    EventRecord,
)
from tidings.core.ids import IdFactory
from tidings.core.profile import DeviceProfile
from tidings.sdk.config import ClientConfig, Manifest
from tidings.sdk.delivery import Delivery
from tidings.sdk.gates import (
    PRESENTER_FAILED,
    SKIPPED_NO_CONTINUATION,
    TIMED_OUT,
    UNAVAILABLE,
    GateRegistry,
    Presentation,
    Resolution,
)
from tidings.sdk.identity import device_block
from tidings.sdk.listeners import Registry, UnheardEvents
from tidings.sdk.store import KIND_DECISION, KIND_EVENT, DeviceStore
from tidings.sdk.transport import Clock
from tidings.sdk.worker import Worker

log = logging.getLogger("tidings.sdk")

STATE_SAVE_DELAY_S = 0.5
"""How long ``track()`` leaves the device state unsaved (its events are committed at once)."""

SETTLE_AT = 1_000
"""Journaled rows at which the worker is woken to move them into SQLite whatever else is due."""

DeepLinkListener = Callable[[str, dict[str, Any]], object]
RateReviewHandler = Callable[[dict[str, Any]], object]
SystemEventsListener = Callable[[EventRecord], object]


class Recorder:
    """The device's state and the lock-held half of the client (see the module docstring).

    The client holds one and calls it; so does the config fetch. ``delivery`` and ``worker``
    are attached by the client once built (they call back into the client).
    """

    config: ClientConfig
    sdk_version: str
    lock: threading.RLock
    closed: bool
    store: DeviceStore
    clock: Clock
    profile: DeviceProfile
    extra: dict[str, str | None]
    device: Device
    manifest: Manifest | None
    state_dirty_at: float | None
    gates: GateRegistry
    live: set[Presentation]
    deep_links: Registry[DeepLinkListener]
    rate_review: Registry[RateReviewHandler]
    system: Registry[SystemEventsListener]
    unheard: UnheardEvents
    heard: list[EventRecord]
    delivery: Delivery
    worker: Worker
    _state_seq: int

    def __init__(  # noqa: PLR0917 - the client's parts, built before it
        self,
        config: ClientConfig,
        sdk_version: str,
        store: DeviceStore,
        clock: Clock,
        profile: DeviceProfile,
        extra: dict[str, str | None],
    ) -> None:
        self.config = config
        self.sdk_version = sdk_version
        self.lock = threading.RLock()
        self.closed = False
        self.store = store
        self.clock = clock
        self.profile = profile
        self.extra = extra
        self.device = Device(
            profile,
            IdFactory(os.urandom),
            state=self.load_state(),
            session_timeout_ms=config.session_timeout_ms,
        )
        self.state_dirty_at = None
        self.manifest = None
        self.gates = GateRegistry()
        self.live = set()
        self.deep_links = Registry()
        self.rate_review = Registry()
        self.system = Registry()
        self.unheard = UnheardEvents()
        self.heard = []

    def load_state(self) -> DeviceState:
        """The saved device state; :meth:`replay` brings it up to date from the ``seq`` it was
        saved at (read with it)."""
        raw, self._state_seq = self.store.db.saved_state()
        if raw is None:
            return DeviceState()
        try:
            return DeviceState.from_json(orjson.loads(raw))
        except (ValueError, KeyError, TypeError) as exc:
            log.error("sdk: saved device state unreadable, starting fresh: %s", exc)
            return DeviceState()

    def replay(self) -> None:
        """Bring the saved state up to date with events committed after it (a crash)."""
        rows = self.store.events_after_state(self._state_seq)
        if not rows:
            return
        device = self.device
        session = device.state.session
        ctx = device.context(foreground=False)
        for raw in rows:
            item = orjson.loads(raw)
            event = EventRecord(
                item["id"],
                item["name"],
                item["type"],
                item["timestamp"],
                item.get("sessionId"),
                item.get("properties") or {},
            )
            if event.session_id is not None and event.session_id == session.session_id:
                device.sessions.record(event.timestamp)
            device.campaigns.process(event, ctx, device.state.engine)
            if event.name == CAMPAIGN_SHOWN:
                self._replay_show(event)
        log.info("sdk: %d events replayed into the device state after an unclean exit", len(rows))

    def _replay_show(self, event: EventRecord) -> None:
        campaign_id = event.properties.get("campaignId")
        found = [c for c in self.device.campaigns.campaigns if c.id == campaign_id]
        window = found[0].limit.interval_ms if found else None
        engine = self.device.state.engine
        engine.record_show(str(campaign_id), event.timestamp, event.session_id, window)
        day = local_day(event.timestamp, zone(self.profile.timezone))
        engine.record_project_show(event.session_id, day)

    def save_state_if_due(self, now: float) -> float | None:
        """Save deferred state half a second after it changed; the seconds left otherwise."""
        with self.lock:
            since = self.state_dirty_at
            if since is None or self.closed:
                return None
            left = since + STATE_SAVE_DELAY_S - now
            if left > 0:
                return left
            self.store.save_state(orjson.dumps(self.device.state.to_json()))
            self.state_dirty_at = None
            return None

    def apply(self, manifest: Manifest) -> None:
        device = self.device
        device.set_campaigns(CampaignEngine(manifest.campaigns, manifest.project))
        device.set_cohorts(manifest.cohorts)
        if manifest.session_timeout_ms is not None:
            device.sessions.timeout_ms = manifest.session_timeout_ms
        if manifest.config_refresh_ms is not None:
            device.config_refresh_ms = manifest.config_refresh_ms
        self.manifest = manifest

    def envelope(self) -> UploadHead:
        state = self.device.state
        return {
            "appId": self.config.app_id,
            "device": device_block(self.profile, self.extra, self.sdk_version),
            "user": {"userId": state.user_id, "customProperties": dict(state.properties)},
        }

    def commit(
        self, out: list[Output], *, gated_timeout: float | None = None, defer: bool = False
    ) -> Presentation | None:
        """Persist outputs (and the device state) in one transaction, then schedule their effects.

        Called with the lock held. With ``defer`` the state is saved later by the worker (the
        events themselves are committed now, and replayed into the state after a crash).
        Returns the gate presentation a ``track_gated`` waits for.

        This is the caller's cost of ``track()``: one encode per event, one INSERT statement,
        and the worker woken only when there is something new for it (first queued row, a full
        batch, a first unsaved state, a first undelivered listener event), never per event.
        """
        rows: list[tuple[int, str | None, bytes]] = []
        started: list[tuple[str, int, str, int]] = []
        ended: list[tuple[str, int]] = []
        stamps: dict[str, EventRecord] = {}
        observable: list[EventRecord] = []
        decided = False
        for item in out:
            if isinstance(item, EventRecord):
                stamps[item.id] = item
                rows.append((KIND_EVENT, item.session_id, orjson.dumps(item.to_json())))
                name = item.name
                if item.type == "system":
                    if name not in NOT_OBSERVABLE_EVENTS:
                        observable.append(item)
                    if name == SESSION_STARTED and item.session_id:
                        kind = str(item.properties.get("type", "cold"))
                        counter = self.device.state.session.counter
                        started.append((item.session_id, counter, kind, item.timestamp))
                    elif name == SESSION_FINISHED and item.session_id:
                        ended.append((item.session_id, item.timestamp))
            else:
                decided = True
                trigger = stamps.get(item.event_id)
                body = item.to_json()
                body["timestamp"] = trigger.timestamp if trigger else self.clock.now_ms()
                body["id"] = self.device.ids.new_id(body["timestamp"])
                rows.append((KIND_DECISION, None, orjson.dumps(body)))
        state = None
        wake = False
        if defer and not started and not ended:
            if self.state_dirty_at is None:
                self.state_dirty_at = time.monotonic()
                wake = True
        else:
            state = orjson.dumps(self.device.state.to_json())
            self.state_dirty_at = None
        outbox = self.store.outbox
        dropped = outbox.append(rows, state=state, sessions_started=started, sessions_ended=ended)
        if dropped:
            log.warning("sdk: the on-device queue is full; %d oldest events dropped", dropped)
        if rows and self.delivery.appended(len(rows)):
            wake = True
        staged = outbox.staged
        if staged - len(rows) < SETTLE_AT <= staged:
            wake = True  # the worker moves the journal into SQLite (paused uploads included)
        if observable:
            self._hand_over(observable)
        gated = self._dispatch(out, stamps, gated_timeout) if decided else None
        if wake:
            self.worker.wake()
        return gated

    def _hand_over(self, observable: list[EventRecord]) -> None:
        """Queue system events for the listener; one worker task serves every queued event."""
        if not self.system:
            for event in observable:
                self.unheard.add(event)
            return
        if not self.heard:
            self.worker.submit(self._drain_heard)
        self.heard.extend(observable)

    def _drain_heard(self) -> None:
        with self.lock:
            events, self.heard = self.heard, []
        self.deliver_system(events)

    def _dispatch(
        self, out: list[Output], stamps: dict[str, EventRecord], gated_timeout: float | None
    ) -> Presentation | None:
        gated: Presentation | None = None
        for item in out:
            if isinstance(item, Decision) and item.status == SUCCESS:
                found = self._act(item, stamps.get(item.event_id), gated_timeout)
                if gated is None:
                    gated = found
        return gated

    def _act(
        self, decision: Decision, trigger: EventRecord | None, gated_timeout: float | None
    ) -> Presentation | None:
        props = trigger.properties if trigger is not None else {}
        if decision.campaign.type == "RateReview":
            handlers = self.rate_review.items()
            if handlers:
                info = action_info(decision, props, None)
                self.worker.submit(lambda: handlers[-1](info))
            return None
        url = deep_link_url(decision)
        if url is None:
            return None
        info = action_info(decision, props, url)
        gate = self.gates.match(url)
        if gate is None:
            self.worker.submit(lambda: self._deliver_deep_link(url, info))
            return None
        if gate.live is not None:
            log.info("campaign: gate %s is busy; %s skipped", gate.base_url, decision.campaign_id)
            self.commit(
                self.device.campaign_resolved(
                    decision.campaign_id, SKIPPED_NO_CONTINUATION, None, self.clock.now_ms()
                )
            )
            return None
        timeout = gate.timeout_s if gated_timeout is None else gated_timeout
        presentation = Presentation(
            gate, decision.campaign_id, url, info, timeout, self._on_resolved
        )
        gate.live = presentation
        self.live.add(presentation)
        self.worker.submit(lambda: self._present(presentation))
        return presentation

    def _present(self, p: Presentation) -> None:
        if p.result is not None:
            return
        try:
            p.gate.presenter(dict(p.params), dict(p.info), Resolution(p))
        except Exception:
            log.exception("campaign: the presenter for %s raised", p.gate.base_url)
            p.resolve(UNAVAILABLE, PRESENTER_FAILED)

    def _on_resolved(self, p: Presentation) -> None:
        assert p.result is not None
        with self.lock:
            self.live.discard(p)
            if p.gate.live is p:
                p.gate.live = None
            if self.closed or not self.device.state.session.in_session:
                return
            self.commit(
                self.device.campaign_resolved(
                    p.campaign_id, p.result, p.reason, self.clock.now_ms()
                )
            )
        if p.reason == TIMED_OUT:
            dismiss = getattr(p.gate.presenter, "dismiss", None)
            if callable(dismiss):
                self.worker.submit(dismiss)

    def deliver_system(self, events: list[EventRecord]) -> None:
        for event in events:
            for fn in self.system.items():
                try:
                    fn(event)
                except Exception:
                    log.exception("sdk: the system-events listener raised; ignored")

    def _deliver_deep_link(self, url: str, info: dict[str, Any]) -> None:
        for fn in self.deep_links.items():
            try:
                if fn(url, dict(info)) is True:
                    return
            except Exception:
                log.exception("deeplink: a deep-link listener raised; ignored")
        if not self.deep_links:
            log.info("deeplink: no listener for %s", url)
