"""Server-side evaluation: one person's state and one logged event in, decisions and renders out.

The server runs the same :class:`~tidings.core.campaigns.CampaignEngine` the device runs (with
``channel="server"``); this module only supplies what a device would know about itself, read
from the event log instead:

- **Identity**: one per person: the user id when the record has one (``u:{id}``), else the
  device id / Segment ``anonymousId`` (``d:{id}``).
- **What is remembered** (:class:`IdentityState`): the engine state (history, counters, shows),
  the user's traits (SDK custom properties and Segment ``identify`` / ``context.traits``, merged;
  a ``null`` trait removes it), the device as last seen (platform, versions, country, time zone,
  in the SDK's names) and the highest session counter seen.
- **Every event is in the foreground**: a server campaign does not need the app on screen.

Sans-IO: payloads are the dicts :mod:`tidings.core.logpayload` describes; time is the event's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import orjson

from tidings.core.campaigns.context import EvaluationContext
from tidings.core.campaigns.engine import SUCCESS, CampaignEngine, Decision
from tidings.core.campaigns.server import ServerContent
from tidings.core.campaigns.state import EngineState
from tidings.core.errors import InvalidInput
from tidings.core.events import EventRecord
from tidings.core.profile import DeviceProfile

STATE_VERSION: Final = 1
DEVICE_FIELDS: Final = (
    "deviceId",
    "platform",
    "osVersion",
    "appVersion",
    "country",
    "timezone",
    "locale",
    "model",
    "manufacturer",
)
"""The device facts a person's state keeps (the SDK upload's names)."""
_DEVICE_FIELD_SET: Final = frozenset(DEVICE_FIELDS)
MAX_TRAITS: Final = 200
"""Traits kept per person (the first ones win; a device's custom properties are bounded too)."""


@dataclass(frozen=True, slots=True)
class Observation:
    """What one logged event says about its person."""

    identity: str
    event: EventRecord
    user_id: str | None
    device_id: str | None
    device: Mapping[str, Any] = field(default_factory=dict)
    traits: Mapping[str, Any] = field(default_factory=dict)
    session_counter: int | None = None


def _text(value: object) -> str | None:
    if value.__class__ is str:
        return value or None
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _map(value: object) -> Mapping[str, Any]:
    if value.__class__ is dict:  # what a parsed payload holds: skip the ABC check
        return value
    return value if isinstance(value, Mapping) else {}


def identity_of(user_id: str | None, device_id: str | None) -> str | None:
    """``u:{user id}``, else ``d:{device or anonymous id}``, else ``None`` (nobody to track)."""
    if user_id:
        return f"u:{user_id}"
    if device_id:
        return f"d:{device_id}"
    return None


def observe(
    payload: Mapping[str, Any], device_id: str | None = None, user_id: str | None = None
) -> Observation | None:
    """The observation of one logged event's payload; ``None`` when it names nobody.

    Raises :class:`InvalidInput` (naming the field) when the payload is not a logged event.
    """
    raw_event = payload.get("event")
    if not isinstance(raw_event, Mapping):
        raise InvalidInput("payload.event", "must be a JSON object")
    event = _event(raw_event)
    if payload.get("source") == "segment":
        return _segment(payload, event, device_id, user_id)
    device = _map(payload.get("device"))
    uid = _text(payload.get("userId")) or user_id
    did = _text(device.get("deviceId")) or device_id
    identity = identity_of(uid, did)
    if identity is None:
        return None
    session = _map(payload.get("session"))
    counter = session.get("counter")
    return Observation(
        identity,
        event,
        uid,
        did,
        {k: v for k, v in device.items() if k in _DEVICE_FIELD_SET and _text(v) is not None},
        _map(payload.get("customProperties")),
        counter if type(counter) is int and counter > 0 else None,
    )


def _event(raw: Mapping[str, Any]) -> EventRecord:
    event_id, name, timestamp = raw.get("id"), raw.get("name"), raw.get("timestamp")
    if not isinstance(event_id, str) or not isinstance(name, str) or type(timestamp) is not int:
        raise InvalidInput("payload.event", "must have an id, a name and a timestamp")
    kind = raw.get("type", "custom")
    session = raw.get("sessionId")
    props = raw.get("properties")
    return EventRecord(
        event_id,
        name,
        "system" if kind == "system" else "custom",
        timestamp,
        session if isinstance(session, str) else None,
        props if isinstance(props, Mapping) else {},
    )


def _segment(
    payload: Mapping[str, Any], event: EventRecord, device_id: str | None, user_id: str | None
) -> Observation | None:
    message = _map(payload.get("message"))
    context = _map(message.get("context"))
    uid = _text(message.get("userId")) or user_id
    did = _text(message.get("anonymousId")) or device_id
    identity = identity_of(uid, did)
    if identity is None:
        return None
    os_info, app, device = (
        _map(context.get("os")),
        _map(context.get("app")),
        _map(context.get("device")),
    )
    seen = {
        "deviceId": did,
        "platform": _text(os_info.get("name")) or _text(device.get("type")),
        "osVersion": _text(os_info.get("version")),
        "appVersion": _text(app.get("version")),
        "country": _text(_map(context.get("location")).get("country")),
        "timezone": _text(context.get("timezone")),
        "locale": _text(context.get("locale")),
        "model": _text(device.get("model")),
        "manufacturer": _text(device.get("manufacturer")),
    }
    traits = dict(_map(context.get("traits")))
    if message.get("type") == "identify":
        traits.update(_map(message.get("traits")))
    return Observation(
        identity, event, uid, did, {k: v for k, v in seen.items() if v is not None}, traits
    )


class IdentityState:
    """Everything the server remembers about one person (see the module)."""

    __slots__ = ("device", "engine", "sessions", "traits", "user_id")

    def __init__(self) -> None:
        self.engine = EngineState()
        self.device: dict[str, Any] = {}
        self.traits: dict[str, Any] = {}
        self.user_id: str | None = None
        self.sessions = 0

    def absorb(self, obs: Observation) -> None:
        """Take in what the observation says about the person (before it is judged)."""
        if obs.user_id:
            self.user_id = obs.user_id
        if obs.device:
            self.device.update(obs.device)
        elif obs.device_id:
            self.device.setdefault("deviceId", obs.device_id)
        traits = self.traits
        for key, value in obs.traits.items():
            if value is None:
                traits.pop(key, None)
            elif key in traits or len(traits) < MAX_TRAITS:
                traits[key] = value
        if obs.session_counter is not None and obs.session_counter > self.sessions:
            self.sessions = obs.session_counter

    def context(
        self, obs: Observation, app_id: str, cohorts: frozenset[str] = frozenset()
    ) -> EvaluationContext:
        """What the engine knows about the person when it judges ``obs``."""
        device = self.device
        profile = DeviceProfile(
            device_id=obs.device_id or device.get("deviceId") or obs.identity,
            platform=device.get("platform"),
            os_version=device.get("osVersion"),
            app_version=device.get("appVersion"),
            country=device.get("country"),
            timezone=device.get("timezone"),
            application=app_id,
        )
        return EvaluationContext(
            profile=profile,
            user_id=self.user_id,
            custom_properties=self.traits,
            session_id=obs.event.session_id,
            session_counter=max(self.sessions, 1),
            cohorts=cohorts,
            foreground=True,
        )

    def to_bytes(self) -> bytes:
        return orjson.dumps(
            {
                "version": STATE_VERSION,
                "engine": self.engine.to_json(),
                "device": self.device,
                "traits": self.traits,
                "userId": self.user_id,
                "sessions": self.sessions,
            }
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> IdentityState:
        """The state :meth:`to_bytes` wrote (:class:`InvalidInput` when it is not one)."""
        try:
            raw = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise InvalidInput("state", f"not JSON: {exc}") from None
        if not isinstance(raw, dict) or raw.get("version") != STATE_VERSION:
            raise InvalidInput("state", f"unsupported identity state (want {STATE_VERSION})")
        state = cls()
        state.engine = EngineState.from_json(raw.get("engine"))
        state.device = dict(_map(raw.get("device")))
        state.traits = dict(_map(raw.get("traits")))
        state.user_id = _text(raw.get("userId"))
        sessions = raw.get("sessions")
        state.sessions = sessions if type(sessions) is int else 0
        return state


def decision_id(app_id: str, event_id: str, campaign_id: str) -> str:
    """A server decision's id: the same for the same event and campaign, so a batch evaluated
    again (after a crash) makes the same decisions under the same ids."""
    digest = hashlib.blake2b(f"{app_id}\x1f{event_id}\x1f{campaign_id}".encode(), digest_size=16)
    return f"sd_{digest.hexdigest()}"


@dataclass(frozen=True, slots=True)
class ServerDecision:
    """One decision of a server campaign, with what its delivery needs when it is a SUCCESS."""

    id: str
    decision: Decision
    content: ServerContent | None
    body: Any
    """The rendered body (``None`` unless SUCCESS)."""
    render_context: Mapping[str, Any]

    @property
    def status(self) -> str:
        return self.decision.status

    def to_json(self, timestamp: int) -> dict[str, Any]:
        """The decision as the log and the stream carry it (a device decision's shape)."""
        return {"id": self.id, **self.decision.to_json(), "timestamp": timestamp}


def render_context(
    obs: Observation, state: IdentityState, decision: Decision, did: str
) -> dict[str, Any]:
    """What a body template may reference (``event``, ``user``, ``traits``, ``device``,
    ``campaign``)."""
    campaign = decision.campaign
    return {
        "event": obs.event.to_json(),
        "user": {
            "userId": state.user_id,
            "anonymousId": obs.device_id,
            "deviceId": state.device.get("deviceId", obs.device_id),
        },
        "traits": state.traits,
        "device": state.device,
        "campaign": {
            "id": campaign.id,
            "name": campaign.name,
            "treatmentId": decision.treatment_id,
            "decisionId": did,
        },
    }


def evaluate(
    engine: CampaignEngine,
    state: IdentityState,
    obs: Observation,
    app_id: str,
    cohorts: frozenset[str] = frozenset(),
) -> list[ServerDecision]:
    """Absorb ``obs`` into ``state``, run the engine, render the body of each SUCCESS."""
    state.absorb(obs)
    decisions = engine.process(obs.event, state.context(obs, app_id, cohorts), state.engine)
    out: list[ServerDecision] = []
    for decision in decisions:
        did = decision_id(app_id, obs.event.id, decision.campaign_id)
        ctx = render_context(obs, state, decision, did)
        content = decision.campaign.server_content(decision.treatment_id)
        body = None
        if decision.status == SUCCESS and content is not None:
            body = content.body.render(ctx)
        out.append(ServerDecision(did, decision, content, body, ctx))
    return out
