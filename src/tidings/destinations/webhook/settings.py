"""A webhook destination's settings: checked field by field, each refusal naming its field."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from tidings.core.errors import InvalidConfig, InvalidInput
from tidings.destinations.webhook.signing import parse_secret
from tidings.streams.sinkconfig import check_headers

FORMATS = ("segment", "pinpoint")
DEFAULT_MAX_EVENTS = 100
MAX_EVENTS = 1000
DEFAULT_MAX_BYTES = 1_000_000
MAX_BYTES = 10_000_000
MAX_PREVIOUS_SECRETS = 3
_KEYS = (
    "url",
    "secret",
    "previousSecrets",
    "format",
    "headers",
    "maxEvents",
    "maxBytes",
    "timeoutSeconds",
)
_RESERVED = frozenset({"content-type", "content-length", "host", "user-agent"})


def _int(settings: Mapping[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = settings.get(key, default)
    if type(value) is not int or not low <= value <= high:
        raise InvalidConfig(f"settings.{key}", f"must be an integer from {low} to {high}")
    return value


def _reserved(name: str) -> bool:
    return name in _RESERVED or name.startswith("webhook-")


def check_settings(settings: object) -> dict[str, Any]:
    """The settings, checked, with defaults filled in."""
    if not isinstance(settings, Mapping):
        raise InvalidConfig("settings", "must be an object")
    for key in settings:
        if key not in _KEYS:
            raise InvalidConfig(f"settings.{key}", "unknown setting")
    url = settings.get("url")
    try:
        parts = urlsplit(url) if isinstance(url, str) else None
        ok = parts is not None and parts.scheme in ("http", "https") and bool(parts.hostname)
        _ = parts.port if parts is not None else None
    except ValueError:
        ok = False
    if not ok:
        raise InvalidConfig("settings.url", "must be an http(s)://host/... address")
    parse_secret(settings.get("secret"))
    previous = settings.get("previousSecrets", [])
    if not isinstance(previous, list) or len(previous) > MAX_PREVIOUS_SECRETS:
        raise InvalidConfig(
            "settings.previousSecrets", f"must be an array of at most {MAX_PREVIOUS_SECRETS}"
        )
    for i, old in enumerate(previous):
        parse_secret(old, f"settings.previousSecrets[{i}]")
    fmt = settings.get("format", "segment")
    if fmt not in FORMATS:
        raise InvalidConfig("settings.format", f"must be one of {', '.join(FORMATS)}")
    timeout = settings.get("timeoutSeconds", 10)
    if type(timeout) not in (int, float) or not 0.1 <= timeout <= 60:
        raise InvalidConfig("settings.timeoutSeconds", "must be a number from 0.1 to 60")
    out: dict[str, Any] = {
        "url": url,
        "secret": settings["secret"],
        "format": fmt,
        "maxEvents": _int(settings, "maxEvents", DEFAULT_MAX_EVENTS, 1, MAX_EVENTS),
        "maxBytes": _int(settings, "maxBytes", DEFAULT_MAX_BYTES, 1024, MAX_BYTES),
        "timeoutSeconds": timeout,
    }
    if previous:
        out["previousSecrets"] = list(previous)
    if "headers" in settings:
        try:
            out["headers"] = check_headers(settings["headers"], _reserved, "the destination")
        except InvalidInput as exc:
            raise InvalidConfig(exc.field, exc.reason) from None
    return out


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    """Checked settings, the secrets decoded (the current one first)."""

    url: str
    keys: tuple[bytes, ...]
    format: str
    headers: Mapping[str, str]
    max_events: int
    max_bytes: int
    timeout_s: float

    @classmethod
    def from_checked(cls, checked: Mapping[str, Any]) -> WebhookSettings:
        secrets = [checked["secret"], *checked.get("previousSecrets", ())]
        return cls(
            url=checked["url"],
            keys=tuple(parse_secret(s) for s in secrets),
            format=checked["format"],
            headers=dict(checked.get("headers") or {}),
            max_events=checked["maxEvents"],
            max_bytes=checked["maxBytes"],
            timeout_s=float(checked["timeoutSeconds"]),
        )
