"""Currents mode: export events with Braze Currents' Amplitude conventions.

Names are prefixed (``[Tidings]`` by default; ``[Appboy]`` reproduces a Braze export exactly),
custom events become ``PREFIX [Custom Event] NAME`` with ``[Custom event property] ``-prefixed
properties, purchases ``PREFIX Purchase`` with ``[Purchase property] ``, sessions and in-app
message engagement get Braze's event names, campaign decisions give the in-app impressions
(``SUCCESS``, the show) and control-group enrollments (``HOLDOUT``), and the conversions the
attribution consumer logged give Braze's ``Campaign Conversion Event``. Braze's own properties
(``app_id`` on every event, ``platform``, ``os_version``, ``device_model``, the session id, the
campaign fields) go under ``event_properties``. Events with no Currents counterpart (config
fetches, property changes, ...) are not exported; an instance may export fewer categories.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from tidings.core.errors import InvalidConfig
from tidings.core.events import (
    CAMPAIGN_RESOLVED,
    SESSION_FINISHED,
    SESSION_STARTED,
    SYSTEM_EVENT_NAMES,
)
from tidings.core.mapping import UNDEFINED, get_path, parse_path
from tidings.core.purchases import (
    CURRENCY_KEYS,
    PRICE_KEYS,
    PRODUCT_ID_KEYS,
    QUANTITY_KEYS,
    REVENUE_KEYS,
    first_number,
    first_text,
    is_purchase,
)
from tidings.destinations.amplitude.campaign_book import CampaignBook, Show
from tidings.destinations.amplitude.convert import to_epoch_ms
from tidings.destinations.amplitude.settings import Settings
from tidings.destinations.logmessage import message_from_payload
from tidings.destinations.message import AMPLITUDE_INTEGRATIONS, integration_enabled
from tidings.destinations.request import Request

DEFAULT_PREFIX = "[Tidings]"
CUSTOM_PROPERTY = "[Custom event property] "
PURCHASE_PROPERTY = "[Purchase property] "

CUSTOM_EVENTS: Final = "customEvents"
PURCHASES: Final = "purchases"
SESSIONS: Final = "sessions"
IN_APP_IMPRESSIONS: Final = "inAppImpressions"
IN_APP_CLICKS: Final = "inAppClicks"
CONTROL_GROUP_ENROLLMENTS: Final = "controlGroupEnrollments"
CONVERSIONS: Final = "conversions"
CATEGORIES: Final = (
    CUSTOM_EVENTS,
    PURCHASES,
    SESSIONS,
    IN_APP_IMPRESSIONS,
    IN_APP_CLICKS,
    CONTROL_GROUP_ENROLLMENTS,
    CONVERSIONS,
)
"""The event categories an instance can export (``settings.categories``; default: all)."""

_DEVICE_PROPERTIES = (
    ("platform", "$.context.device.type"),
    ("os_version", "$.context.os.version"),
    ("device_model", "$.context.device.model"),
)
"""Braze's device properties, under ``event_properties`` of behaviour and in-app events."""


def _get(message: Mapping[str, Any], path: str) -> Any:
    """The value at ``path``, or ``None`` when it is missing, null or ``""``."""
    value = get_path(message, parse_path(path))
    return None if value is UNDEFINED or value is None or value == "" else value


def parse_categories(raw: object, path: str = "settings.categories") -> frozenset[str]:
    """A ``categories`` setting: a list of :data:`CATEGORIES` (``None``: all of them)."""
    if raw is None:
        return frozenset(CATEGORIES)
    if not isinstance(raw, list):
        raise InvalidConfig(path, f"must be a list of categories ({', '.join(CATEGORIES)})")
    for index, name in enumerate(raw):
        if name not in CATEGORIES:
            raise InvalidConfig(
                f"{path}[{index}]", f"unknown category {name!r}; known: {', '.join(CATEGORIES)}"
            )
    return frozenset(raw)


@dataclass(frozen=True, slots=True)
class Currents:
    """One Currents-mode instance: settings (purchase events included), name prefix, the
    categories it exports, and its :class:`CampaignBook` (campaign names, treatments, shows)."""

    settings: Settings = field(default_factory=Settings)
    prefix: str = DEFAULT_PREFIX
    categories: frozenset[str] = frozenset(CATEGORIES)
    book: CampaignBook = field(default_factory=CampaignBook, compare=False)

    def events(self, message: Mapping[str, Any], app_id: str | None = None) -> list[dict[str, Any]]:
        """The Amplitude events (zero, one or two) for one canonical message of ``app_id``."""
        name = message.get("event")
        if message.get("type") != "track" or not isinstance(name, str):
            return []
        if not integration_enabled(message, AMPLITUDE_INTEGRATIONS):
            return []
        p = self.prefix
        if name in (SESSION_STARTED, SESSION_FINISHED):
            return self._session(message, name, app_id) if SESSIONS in self.categories else []
        if name == CAMPAIGN_RESOLVED:
            return self._click(message, app_id) if IN_APP_CLICKS in self.categories else []
        if name in SYSTEM_EVENT_NAMES:
            # CampaignShown too: its impression is exported from the decision that showed it.
            return []
        props = message.get("properties") or {}
        if is_purchase(name, self.settings.purchase_events):
            if PURCHASES not in self.categories:
                return []
            return [self._purchase(message, props, app_id)]
        if CUSTOM_EVENTS not in self.categories:
            return []
        custom = {f"{CUSTOM_PROPERTY}{k}": v for k, v in props.items()}
        return [self._event(message, f"{p} [Custom Event] {name}", app_id, custom)]

    def decision_events(self, payload: Mapping[str, Any], app_id: str) -> list[dict[str, Any]]:
        """The events of a stored decision: the impression of a device's ``SUCCESS`` (its show)
        and the control-group enrollment of a ``HOLDOUT``."""
        decision = payload.get("decision")
        if not isinstance(decision, Mapping):
            return []
        status = decision.get("status")
        if status == "SUCCESS" and payload.get("source", "sdk") == "sdk":
            if IN_APP_IMPRESSIONS not in self.categories:
                return []
            event_type, device = "In-App Message Impression", True
        elif status == "HOLDOUT":
            if CONTROL_GROUP_ENROLLMENTS not in self.categories:
                return []
            event_type, device = "Campaign Control Group Enrollment", False
        else:
            return []
        message = _decision_message(payload, decision)
        if message is None:
            return []
        campaign_id = decision.get("campaignId")
        out = self._campaign_properties(campaign_id, decision.get("treatmentId"), decision["id"])
        return [self._event(message, f"{self.prefix} {event_type}", app_id, out, device=device)]

    def remember_shows(self, decisions: Iterable[tuple[str, Mapping[str, Any]]]) -> None:
        """Note the shows (a device's ``SUCCESS`` decisions) among ``(app id, stored payload)``
        pairs, so a click that follows its show is exported with the show's ``send_id`` and
        treatment."""
        for app_id, payload in decisions:
            decision = payload.get("decision")
            device = payload.get("device")
            if not isinstance(decision, Mapping) or not isinstance(device, Mapping):
                continue
            fields = (decision.get(k) for k in ("campaignId", "id", "treatmentId", "timestamp"))
            campaign_id, decision_id, treatment, timestamp = fields
            device_id = device.get("deviceId")
            if (
                decision.get("status") == "SUCCESS"
                and payload.get("source", "sdk") == "sdk"
                and isinstance(campaign_id, str)
                and isinstance(decision_id, str)
                and isinstance(device_id, str)
                and type(timestamp) is int
            ):
                show = Show(timestamp, decision_id, str(treatment or "0"))
                self.book.remember(app_id, device_id, campaign_id, show)

    def conversion_events(self, payload: Mapping[str, Any], app_id: str) -> list[dict[str, Any]]:
        """Braze's ``Campaign Conversion Event`` of a logged conversion: the campaign, the
        variation (``control`` for the control group), the converted decision as ``send_id``
        and which of the campaign's conversion events it was (``conversion_behavior_index``)."""
        conversion = payload.get("conversion")
        if CONVERSIONS not in self.categories or not isinstance(conversion, Mapping):
            return []
        fields = (conversion.get(k) for k in ("id", "timestamp", "campaignId", "decisionId"))
        conversion_id, timestamp, campaign_id, decision_id = fields
        if not isinstance(conversion_id, str) or type(timestamp) is not int:
            return []
        event = {"id": conversion_id, "name": "", "timestamp": timestamp, "properties": {}}
        message = message_from_payload("event", {**payload, "event": event})
        if message is None:
            return []
        if payload.get("source") == "segment":  # the converting message: retimed, its own id
            message["messageId"] = conversion_id
            message["timestamp"] = datetime.fromtimestamp(timestamp / 1000, UTC).isoformat()
        treatment = conversion.get("treatmentId")
        out = self._campaign_properties(
            campaign_id, "control" if treatment is None else treatment, decision_id
        )
        out["conversion_behavior_index"] = conversion.get("goal")
        out["conversion_behavior"] = conversion.get("eventName")
        name = f"{self.prefix} Campaign Conversion Event"
        return [self._event(message, name, app_id, out, device=False)]

    def record_events(
        self, kind: str, payload: Mapping[str, Any], app_id: str
    ) -> list[dict[str, Any]]:
        """The events of one stored event-log payload (an event, a decision or a
        conversion)."""
        if kind == "decision":
            return self.decision_events(payload, app_id)
        if kind == "conversion":
            return self.conversion_events(payload, app_id)
        message = message_from_payload(kind, payload)
        return [] if message is None else self.events(message, app_id)

    # --- the events ----------------------------------------------------------------------------

    def _session(
        self, message: Mapping[str, Any], name: str, app_id: str | None
    ) -> list[dict[str, Any]]:
        p = self.prefix
        session = {"session_id": _get(message, "$.context.session.id")}
        if name == SESSION_FINISHED:
            started = _get(message, "$.context.session.startedAt")
            time = to_epoch_ms(message.get("timestamp"))
            if isinstance(started, int) and time is not None:
                session["duration"] = max(0, time - started) / 1000
            return [self._event(message, f"{p} Session End", app_id, session)]
        out = []
        if _get(message, "$.context.session.counter") == 1:
            out.append(self._event(message, f"{p} First Session", app_id, session, ":first"))
        out.append(self._event(message, f"{p} Session Start", app_id, session))
        return out

    def _purchase(
        self, message: Mapping[str, Any], props: Mapping[str, Any], app_id: str | None
    ) -> dict[str, Any]:
        """Braze's Purchase: ``product_id``, ``price`` and ``currency`` in the properties, and
        Amplitude's revenue fields (price, quantity, revenue, productId) at the top level."""
        product = first_text(props, PRODUCT_ID_KEYS)
        price = first_number(props, PRICE_KEYS)
        braze = {
            "product_id": product,
            "price": price,
            "currency": first_text(props, CURRENCY_KEYS),
        }
        braze.update((f"{PURCHASE_PROPERTY}{k}", v) for k, v in props.items())
        event = self._event(message, f"{self.prefix} Purchase", app_id, braze)
        for key, value in (
            ("price", price),
            ("quantity", first_number(props, QUANTITY_KEYS)),
            ("revenue", first_number(props, REVENUE_KEYS)),
            ("productId", product),
        ):
            if value is not None:
                event[key] = value
        return event

    def _click(self, message: Mapping[str, Any], app_id: str | None) -> list[dict[str, Any]]:
        """``In-App Message Click`` for a ``CampaignResolved`` with result ``Completed``: the
        treatment of its show when this instance saw the show's decision (else the one the
        campaign gives the user), and that decision's id as ``send_id``."""
        props = message.get("properties") or {}
        if props.get("result") != "Completed":
            return []
        campaign_id = props.get("campaignId")
        device_id = _get(message, "$.context.device.id") or message.get("anonymousId")
        time = to_epoch_ms(message.get("timestamp"))
        show = None
        if app_id and isinstance(campaign_id, str) and isinstance(device_id, str) and time:
            show = self.book.show_before(app_id, device_id, campaign_id, time)
        treatment: Any = show.treatment_id if show is not None else None
        if treatment is None and isinstance(campaign_id, str):
            info = self.book.get(campaign_id)
            user_key = message.get("userId") or device_id
            if info is not None and isinstance(user_key, str) and user_key:
                treatment = info.treatment_for(campaign_id, user_key)
        send_id = show.decision_id if show is not None else None
        out = self._campaign_properties(campaign_id, treatment, send_id)
        return [self._event(message, f"{self.prefix} In-App Message Click", app_id, out)]

    def _campaign_properties(
        self, campaign_id: Any, treatment: Any, send_id: Any
    ) -> dict[str, Any]:
        info = self.book.get(campaign_id) if isinstance(campaign_id, str) else None
        return {
            "campaign_id": campaign_id,
            "campaign_name": info.name if info is not None else None,
            "message_variation_id": treatment,
            "send_id": send_id,
        }

    def _event(
        self,
        message: Mapping[str, Any],
        event_type: str,
        app_id: str | None,
        props: Mapping[str, Any],
        suffix: str = "",
        *,
        device: bool = True,
    ) -> dict[str, Any]:
        """The event: ids, time and device fields of the message, Braze's properties under
        ``event_properties`` (``app_id``, then the device's when ``device``); a missing value
        (``None``) is left out."""
        event = _base(message)
        braze = {k: v for k, v in props.items() if v is not None}
        if app_id:
            braze["app_id"] = app_id
        if device:
            for key, path in _DEVICE_PROPERTIES:
                value = _get(message, path)
                if value is not None:
                    braze[key] = value
        event["event_type"] = event_type
        event["event_properties"] = braze
        if suffix and "insert_id" in event:
            event["insert_id"] = f"{event['insert_id']}{suffix}"
        return event

    def requests(
        self, messages: Iterable[Mapping[str, Any]], app_id: str | None = None
    ) -> list[Request]:
        """One ``/2/httpapi`` request with every exported event (none when nothing exports)."""
        events = [e for m in messages for e in self.events(m, app_id)]
        if not events:
            return []
        body = {"api_key": self.settings.api_key, "events": events}
        return [Request("POST", self.settings.url("httpapi"), json=body)]


def _base(message: Mapping[str, Any]) -> dict[str, Any]:
    """Amplitude's own fields of an exported event: ids, time, session, device, insert id."""
    base: dict[str, Any] = {}
    user_id = message.get("userId")
    if user_id:
        base["user_id"] = user_id
    device_id = _get(message, "$.context.device.id") or message.get("anonymousId")
    if device_id:
        base["device_id"] = device_id
    time = to_epoch_ms(message.get("timestamp"))
    if time is not None:
        base["time"] = time
    started = _get(message, "$.context.session.startedAt")
    if isinstance(started, int):
        base["session_id"] = started
    for key, path in (
        ("platform", "$.context.device.type"),
        ("os_name", "$.context.os.name"),
        ("os_version", "$.context.os.version"),
        ("device_model", "$.context.device.model"),
        ("app_version", "$.context.app.version"),
        ("language", "$.context.locale"),
    ):
        value = _get(message, path)
        if value is not None:
            base[key] = value
    if message.get("messageId"):
        base["insert_id"] = message["messageId"]
    return base


def _decision_message(
    payload: Mapping[str, Any], decision: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The canonical message of a decision's device and user, at the decision's time, with the
    decision id as its message id (so as the exported event's insert id)."""
    decision_id = decision.get("id")
    timestamp = decision.get("timestamp")
    if not isinstance(decision_id, str) or not decision_id or type(timestamp) is not int:
        return None
    event = {"id": decision_id, "name": "", "timestamp": timestamp, "properties": {}}
    return message_from_payload("event", {**payload, "event": event})
