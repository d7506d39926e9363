"""Instance settings and Amplitude's hosts (reference §1.1)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tidings.core.errors import InvalidConfig
from tidings.core.purchases import DEFAULT_PURCHASE_EVENTS, parse_purchase_events
from tidings.core.redact import keep_masked, mask, mask_url

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


SECRET_SETTINGS = ("secretKey",)
"""Settings that are write-only: shown masked, kept when a write sends the mask back."""
URL_SETTINGS = ("baseUrl",)
"""Settings holding a URL whose ``user:password@`` part is masked."""


def public_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Settings as the admin API, the dashboard and the CLI show them (secrets masked)."""
    out = dict(settings)
    for key in SECRET_SETTINGS:
        if key in out:
            out[key] = mask(out[key])
    for key in URL_SETTINGS:
        if isinstance(out.get(key), str):
            out[key] = mask_url(out[key])
    return out


def keep_secrets(sent: Mapping[str, Any], stored: Mapping[str, Any]) -> dict[str, Any]:
    """``sent`` with every masked secret it echoes back replaced by the stored value."""
    out = dict(sent)
    for key in SECRET_SETTINGS:
        if key in out:
            out[key] = keep_masked(out[key], stored.get(key))
    for key in URL_SETTINGS:
        if key in out:
            out[key] = keep_masked(out[key], stored.get(key), _shown_url)
    return out


def _shown_url(value: Any) -> Any:
    return mask_url(value) if isinstance(value, str) else value


def with_public_settings(body: Mapping[str, Any]) -> dict[str, Any]:
    """A destination document (``{..., "settings": {...}}``) as it may be shown."""
    settings = body.get("settings")
    return {**body, "settings": public_settings(settings if isinstance(settings, Mapping) else {})}
