"""Currents mode: export events with Braze Currents' Amplitude conventions (seed 003).

Names are prefixed (``[Tidings]`` by default; ``[Appboy]`` reproduces a Braze export exactly),
custom events become ``PREFIX [Custom Event] NAME`` with ``[Custom event property] ``-prefixed
properties, purchases ``PREFIX Purchase`` with ``[Purchase property] ``, sessions and in-app message
engagement get Braze's event names. Events with no Currents counterpart (config fetches, property
changes, ...) are not exported.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tidings.core.events import (
    CAMPAIGN_RESOLVED,
    CAMPAIGN_SHOWN,
    SESSION_FINISHED,
    SESSION_STARTED,
    SYSTEM_EVENT_NAMES,
)
from tidings.core.mapping import UNDEFINED, get_path, parse_path
from tidings.destinations.amplitude.convert import to_epoch_ms
from tidings.destinations.amplitude.settings import Settings
from tidings.destinations.request import Request

DEFAULT_PREFIX = "[Tidings]"
CUSTOM_PROPERTY = "[Custom event property] "
PURCHASE_PROPERTY = "[Purchase property] "
DEFAULT_PURCHASE_EVENTS = frozenset({"Purchase", "PurchaseCompleted", "Order Completed"})


def _get(message: Mapping[str, Any], path: str) -> Any:
    """The value at ``path``, or ``None`` when it is missing, null or ``""``."""
    value = get_path(message, parse_path(path))
    return None if value is UNDEFINED or value is None or value == "" else value


@dataclass(frozen=True, slots=True)
class Currents:
    """One Currents-mode instance: settings, name prefix, purchase event names, campaign names.

    ``campaigns`` maps a campaign id to ``{"name": ..., "treatment": ...}`` for the engagement
    events (the stored event only carries the id).
    """

    settings: Settings = field(default_factory=Settings)
    prefix: str = DEFAULT_PREFIX
    purchase_events: frozenset[str] = DEFAULT_PURCHASE_EVENTS
    campaigns: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    app_id: str | None = None

    def events(self, message: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The Amplitude events (zero, one or two) for one canonical message."""
        name = message.get("event")
        if message.get("type") != "track" or not isinstance(name, str):
            return []
        props = message.get("properties") or {}
        base = self._base(message)
        p = self.prefix
        started = _get(message, "$.context.session.startedAt")
        if name == SESSION_STARTED:
            out = []
            if _get(message, "$.context.session.counter") == 1:
                out.append(
                    self._event(base, f"{p} First Session", {"session_id": started}, ":first")
                )
            out.append(self._event(base, f"{p} Session Start", {"session_id": started}))
            return out
        if name == SESSION_FINISHED:
            extra: dict[str, Any] = {"session_id": started}
            if isinstance(started, int) and "time" in base:
                extra["duration"] = max(0, base["time"] - started) / 1000
            return [self._event(base, f"{p} Session End", extra)]
        if name == CAMPAIGN_SHOWN:
            return [self._event(base, f"{p} In-App Message Impression", self._campaign(message))]
        if name == CAMPAIGN_RESOLVED:
            if props.get("result") != "Completed":
                return []
            return [self._event(base, f"{p} In-App Message Click", self._campaign(message))]
        if name in SYSTEM_EVENT_NAMES:
            return []
        if name in self.purchase_events:
            event = self._event(
                base, f"{p} Purchase", {f"{PURCHASE_PROPERTY}{k}": v for k, v in props.items()}
            )
            for key, target in (
                ("price", "price"),
                ("quantity", "quantity"),
                ("revenue", "revenue"),
                ("product_id", "productId"),
                ("productId", "productId"),
            ):
                if key in props:
                    event[target] = props[key]
            if "currency" in props:
                event["event_properties"]["currency"] = props["currency"]
            return [event]
        custom = {f"{CUSTOM_PROPERTY}{k}": v for k, v in props.items()}
        return [self._event(base, f"{p} [Custom Event] {name}", custom)]

    def _base(self, message: Mapping[str, Any]) -> dict[str, Any]:
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

    def _event(
        self, base: dict[str, Any], event_type: str, props: dict[str, Any], suffix: str = ""
    ) -> dict[str, Any]:
        event = {**base, "event_type": event_type, "event_properties": dict(props)}
        if suffix and "insert_id" in event:
            event["insert_id"] = f"{event['insert_id']}{suffix}"
        return event

    def _campaign(self, message: Mapping[str, Any]) -> dict[str, Any]:
        props = message.get("properties") or {}
        campaign_id = props.get("campaignId")
        known = self.campaigns.get(campaign_id, {}) if isinstance(campaign_id, str) else {}
        out = {
            "campaign_id": campaign_id,
            "campaign_name": props.get("campaignName") or known.get("name"),
            "message_variation_id": props.get("treatment") or known.get("treatment"),
            "app_id": self.app_id or _get(message, "$.context.app.id"),
            "platform": _get(message, "$.context.device.type"),
            "os_version": _get(message, "$.context.os.version"),
            "device_model": _get(message, "$.context.device.model"),
        }
        return {k: v for k, v in out.items() if v is not None}

    def requests(self, messages: Iterable[Mapping[str, Any]]) -> list[Request]:
        """One ``/2/httpapi`` request with every exported event (none when nothing exports)."""
        events = [e for m in messages for e in self.events(m)]
        if not events:
            return []
        body = {"api_key": self.settings.api_key, "events": events}
        return [Request("POST", self.settings.url("httpapi"), json=body)]
