"""Instance settings and Amplitude's hosts (reference §1.1)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tidings.core.errors import InvalidConfig
from tidings.core.purchases import DEFAULT_PURCHASE_EVENTS, parse_purchase_events

HOSTS = {
    "north_america": {
        "httpapi": "https://api2.amplitude.com/2/httpapi",
        "batch": "https://api2.amplitude.com/batch",
        "identify": "https://api2.amplitude.com/identify",
        "groupidentify": "https://api2.amplitude.com/groupidentify",
        "usermap": "https://api.amplitude.com/usermap",
    },
    "europe": {
        "httpapi": "https://api.eu.amplitude.com/2/httpapi",
        "batch": "https://api.eu.amplitude.com/batch",
        "identify": "https://api.eu.amplitude.com/identify",
        "groupidentify": "https://api.eu.amplitude.com/groupidentify",
        "usermap": "https://api.eu.amplitude.com/usermap",
    },
}

_PATHS = {
    "httpapi": "/2/httpapi",
    "batch": "/batch",
    "identify": "/identify",
    "groupidentify": "/groupidentify",
    "usermap": "/usermap",
}


@dataclass(frozen=True, slots=True)
class Settings:
    """``{apiKey, secretKey, endpoint, purchaseEvents}``; ``base_url`` (tests, proxies) replaces
    every host.

    An unknown ``endpoint`` falls back to North America, as Segment does. ``purchaseEvents``
    names the app's purchase events (:mod:`tidings.core.purchases`; default
    ``["PurchaseCompleted"]``), which the presets send as purchases.
    """

    api_key: str = ""
    secret_key: str = ""
    endpoint: str = "north_america"
    base_url: str | None = None
    purchase_events: frozenset[str] = DEFAULT_PURCHASE_EVENTS

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Settings:
        data = data or {}
        if not isinstance(data, Mapping):
            raise InvalidConfig("settings", "must be an object")
        for key in ("apiKey", "secretKey", "endpoint", "baseUrl"):
            if key in data and data[key] is not None and not isinstance(data[key], str):
                raise InvalidConfig(f"settings.{key}", "must be a string")
        return cls(
            api_key=data.get("apiKey") or "",
            secret_key=data.get("secretKey") or "",
            endpoint=data.get("endpoint") or "north_america",
            base_url=data.get("baseUrl") or None,
            purchase_events=parse_purchase_events(
                data.get("purchaseEvents"), "settings.purchaseEvents"
            ),
        )

    def url(self, api: str) -> str:
        """The URL of ``httpapi``, ``batch``, ``identify``, ``groupidentify`` or ``usermap``."""
        if self.base_url:
            return self.base_url.rstrip("/") + _PATHS[api]
        return HOSTS.get(self.endpoint, HOSTS["north_america"])[api]
