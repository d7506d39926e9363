"""Stream sinks as configuration: validated documents that say which sink to run for which apps.

The admin API and ``tidings streams add`` store a sink as a JSON document
(``{"kind", "appIds", "settings", "enabled", "name"?}``); the pipeline reads the same documents
and runs one :class:`~tidings.streams.consumer.StreamConsumer` per enabled sink, each on its own
durable cursor (``stream:<sink id>``). Validation lives here, next to the sinks, so every entry
point accepts exactly what a sink can be built from, and every refusal names the field.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from tidings.core.errors import InvalidInput
from tidings.core.events import json_type
from tidings.core.redact import mask, mask_url
from tidings.streams.sink import Sink

STREAMS_COLLECTION = "streams"
"""The document collection holding sink configurations."""

SINK_KINDS = ("jsonl", "webhook", "nats")
DEFAULT_NATS_SERVER = "nats://127.0.0.1:4222"
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
DEFAULT_MAX_AGE_SECONDS = 300.0
MAX_HEADERS = 32
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$")
_RESERVED_HEADERS = frozenset({"content-type", "content-length", "host", "tidings-stream-version"})
_STREAM_PREFIX = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_SUBJECT_PREFIX = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")

DeadLetterHook = Callable[[dict[str, Any]], None]


def cursor_name(sink_id: str) -> str:
    """The event-log cursor of a configured sink: its position survives restarts."""
    return f"stream:{sink_id}"


def dead_letter_collection(sink_id: str) -> str:
    """Where the batches a webhook receiver refused for good are kept, one document each."""
    return f"stream_dead_letters:{sink_id}"


@dataclass(frozen=True, slots=True)
class SinkSpec:
    """One configured sink, as read back from its document."""

    id: str
    kind: str
    app_ids: tuple[str, ...]
    settings: Mapping[str, Any]
    enabled: bool = True
    name: str | None = None
    version: int = 0
    """The document's ``updated_at``: a changed configuration means the sink is rebuilt."""

    @classmethod
    def from_document(cls, doc_id: str, body: Mapping[str, Any], version: int = 0) -> SinkSpec:
        """Read a stored document (validated again: a hand-edited row fails loudly here)."""
        checked = check_sink(body)
        return cls(
            id=doc_id,
            kind=checked["kind"],
            app_ids=tuple(checked["appIds"]),
            settings=checked["settings"],
            enabled=checked["enabled"],
            name=checked.get("name"),
            version=version,
        )

    @property
    def cursor(self) -> str:
        return cursor_name(self.id)


def _number(
    settings: Mapping[str, Any], key: str, *, minimum: float, integral: bool
) -> float | int | None:
    value = settings.get(key)
    if value is None:
        return None
    ok = type(value) is int or (not integral and type(value) is float)
    if not ok:
        kind = "an integer" if integral else "a number"
        raise InvalidInput(f"settings.{key}", f"must be {kind}, not {json_type(value)}")
    number: float | int = value
    if number < minimum:
        raise InvalidInput(f"settings.{key}", f"must be at least {minimum:g}")
    return number


def _string(settings: Mapping[str, Any], key: str, *, required: bool) -> str | None:
    value = settings.get(key)
    if value is None:
        if required:
            raise InvalidInput(f"settings.{key}", "is required (a non-empty string)")
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"settings.{key}", f"must be a non-empty string, not {json_type(value)}")
    return value


def _is_url(value: str, schemes: tuple[str, ...]) -> bool:
    """A URL with one of ``schemes``, a host and a valid port if any (``urlsplit`` raises on a
    malformed IPv6 host or port, which must be a refusal, not a crash)."""
    try:
        parts = urlsplit(value)
        _ = parts.port
    except ValueError:
        return False
    return parts.scheme in schemes and bool(parts.hostname)


def _reject_unknown(settings: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    for key in settings:
        if key not in allowed:
            raise InvalidInput(
                f"settings.{key}", f"unknown setting (expected one of {', '.join(allowed)})"
            )


def _jsonl_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    _reject_unknown(settings, ("directory", "maxBytes", "maxAgeSeconds"))
    out: dict[str, Any] = {"directory": _string(settings, "directory", required=True)}
    max_bytes = _number(settings, "maxBytes", minimum=1024, integral=True)
    max_age = _number(settings, "maxAgeSeconds", minimum=1, integral=False)
    out["maxBytes"] = DEFAULT_MAX_BYTES if max_bytes is None else max_bytes
    out["maxAgeSeconds"] = DEFAULT_MAX_AGE_SECONDS if max_age is None else max_age
    return out


def check_headers(
    headers: object, reserved: Callable[[str], bool], by: str = "the sink"
) -> dict[str, str]:
    """``settings.headers`` of a webhook (a sink's or a destination's): an object of at most
    :data:`MAX_HEADERS` valid names whose values have no line breaks, none of the names
    ``reserved`` (called with the lower-case name) says ``by`` sets itself."""
    if not isinstance(headers, dict):
        raise InvalidInput("settings.headers", f"must be an object, not {json_type(headers)}")
    if len(headers) > MAX_HEADERS:
        raise InvalidInput("settings.headers", f"at most {MAX_HEADERS} headers")
    for name, value in headers.items():
        where = f"settings.headers[{name!r}]"
        if not _HEADER_NAME.match(name):
            raise InvalidInput(where, "is not a valid HTTP header name")
        if reserved(name.lower()):
            raise InvalidInput(where, f"is set by {by} itself")
        if not isinstance(value, str) or any(c in value for c in "\r\n\x00"):
            raise InvalidInput(where, "must be a string without line breaks")
    return dict(headers)


def _webhook_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    _reject_unknown(settings, ("url", "headers", "timeoutSeconds"))
    url = _string(settings, "url", required=True)
    assert url is not None
    if not _is_url(url, ("http", "https")):
        raise InvalidInput("settings.url", f"must be an http(s)://host/... address, not {url!r}")
    headers = check_headers(settings.get("headers", {}), _RESERVED_HEADERS.__contains__)
    out: dict[str, Any] = {"url": url, "headers": headers}
    timeout = _number(settings, "timeoutSeconds", minimum=0.1, integral=False)
    out["timeoutSeconds"] = 10.0 if timeout is None else timeout
    return out


def _nats_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    _reject_unknown(settings, ("servers", "streamPrefix", "subjectPrefix", "maxAgeSeconds"))
    servers = settings.get("servers", [DEFAULT_NATS_SERVER])
    if isinstance(servers, str):
        servers = [servers]
    if not isinstance(servers, list) or not servers:
        raise InvalidInput("settings.servers", "must be a server URL or a non-empty array of them")
    for i, server in enumerate(servers):
        if not isinstance(server, str) or not _is_url(server, ("nats", "tls")):
            raise InvalidInput(f"settings.servers[{i}]", "must be a nats://host:port URL")
    stream_prefix = _string(settings, "streamPrefix", required=False) or "TIDINGS"
    if not _STREAM_PREFIX.match(stream_prefix):
        raise InvalidInput("settings.streamPrefix", "may hold only letters, digits, - and _")
    subject_prefix = _string(settings, "subjectPrefix", required=False) or "tidings.stream"
    if not _SUBJECT_PREFIX.match(subject_prefix):
        raise InvalidInput("settings.subjectPrefix", "must be dot-separated plain tokens")
    out: dict[str, Any] = {
        "servers": list(servers),
        "streamPrefix": stream_prefix,
        "subjectPrefix": subject_prefix,
    }
    max_age = _number(settings, "maxAgeSeconds", minimum=1, integral=False)
    if max_age is not None:
        out["maxAgeSeconds"] = max_age
    return out


_SETTINGS = {"jsonl": _jsonl_settings, "webhook": _webhook_settings, "nats": _nats_settings}


def check_settings(kind: str, settings: Any) -> dict[str, Any]:
    """The settings of a sink of ``kind``, checked and with defaults filled in."""
    if kind not in _SETTINGS:
        raise InvalidInput("kind", f"must be one of {', '.join(SINK_KINDS)}")
    if not isinstance(settings, dict):
        raise InvalidInput("settings", f"must be an object, not {json_type(settings)}")
    return _SETTINGS[kind](settings)


def check_sink(body: Mapping[str, Any]) -> dict[str, Any]:
    """A whole sink document ``{"kind", "appIds", "settings", "enabled"?, "name"?}``, checked.

    That the app ids exist is the caller's to check (this layer has no store).
    """
    for key in body:
        if key not in ("kind", "appIds", "settings", "enabled", "name"):
            raise InvalidInput(
                key, "unknown field (expected appIds, enabled, kind, name, settings)"
            )
    kind = body.get("kind")
    if not isinstance(kind, str):
        raise InvalidInput("kind", f"must be one of {', '.join(SINK_KINDS)}")
    settings = check_settings(kind, body.get("settings", {}))
    app_ids = body.get("appIds")
    if not isinstance(app_ids, list) or not app_ids:
        raise InvalidInput("appIds", "is required (a non-empty array of app ids)")
    for i, app_id in enumerate(app_ids):
        if not isinstance(app_id, str) or not app_id:
            raise InvalidInput(f"appIds[{i}]", "must be a non-empty string")
    enabled = body.get("enabled", True)
    if not isinstance(enabled, bool):
        raise InvalidInput("enabled", f"must be a boolean, not {json_type(enabled)}")
    out: dict[str, Any] = {
        "kind": kind,
        "appIds": list(dict.fromkeys(app_ids)),
        "settings": settings,
        "enabled": enabled,
    }
    name = body.get("name")
    if name is not None:
        if not isinstance(name, str) or len(name) > 255:
            raise InvalidInput("name", "must be a string of at most 255 characters")
        out["name"] = name
    return out


def public_settings(kind: str, settings: Mapping[str, Any]) -> dict[str, Any]:
    """Settings as the API shows them: webhook header values and the password of any
    ``user:password@`` in a URL are masked (they hold credentials, and an admin listing is no
    place to read them back)."""
    out = dict(settings)
    if kind == "webhook" and isinstance(out.get("headers"), dict):
        out["headers"] = {name: mask(value) for name, value in out["headers"].items()}
    if isinstance(out.get("url"), str):
        out["url"] = mask_url(out["url"])
    if isinstance(out.get("servers"), list):
        out["servers"] = [mask_url(s) if isinstance(s, str) else s for s in out["servers"]]
    return out


def build_sink(spec: SinkSpec, *, dead_letters: DeadLetterHook) -> Sink:
    """The sink a spec describes. ``dead_letters`` receives each batch a webhook receiver
    refused for good (the pipeline stores them as documents the admin API lists)."""
    s = spec.settings
    if spec.kind == "jsonl":
        from tidings.streams.jsonl import JsonlSink

        return JsonlSink(
            s["directory"], max_bytes=s["maxBytes"], max_age_seconds=s["maxAgeSeconds"]
        )
    if spec.kind == "webhook":
        from tidings.streams.webhook import WebhookSink

        return WebhookSink(
            s["url"], headers=s["headers"], timeout=s["timeoutSeconds"], on_dead_letter=dead_letters
        )
    if spec.kind == "nats":
        from tidings.streams.nats import NatsSink

        return NatsSink(
            s["servers"],
            stream_prefix=s["streamPrefix"],
            subject_prefix=s["subjectPrefix"],
            max_age_seconds=s.get("maxAgeSeconds"),
        )
    raise InvalidInput("kind", f"must be one of {', '.join(SINK_KINDS)}")
