"""Client configuration (validated once, at construction) and the campaign manifest.

Like Amply's SDKs, configuration is read once: a client cannot be re-pointed at runtime. Missing or
blank keys raise :class:`~tidings.core.errors.InvalidConfig` (code ``AMP_INVALID_CONFIG``) naming
the argument, before anything touches the disk or the network.
"""

from __future__ import annotations

import logging
import math
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import orjson

from tidings.core.campaigns import Campaign, ProjectSettings, parse_campaign, parse_project_settings
from tidings.core.errors import InvalidConfig, InvalidInput

log = logging.getLogger("tidings.sdk")

LOG_LEVELS: Final = {
    "none": logging.CRITICAL + 10,
    "error": logging.ERROR,
    "warn": logging.WARNING,
    "info": logging.INFO,
    "debug": logging.DEBUG,
}

DEVICE_FIELDS: Final = (
    "device_id",
    "platform",
    "os_version",
    "app_version",
    "app_install_version",
    "country",
    "timezone",
    "locale",
    "model",
    "manufacturer",
)


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """Everything ``Tidings(...)`` was given, checked and normalised."""

    app_id: str
    api_key_public: str
    api_key_secret: str
    backend_url: str
    config_url: str
    default_config: Manifest | None
    data_dir: Path
    session_timeout_ms: int
    log_level: str
    device: Mapping[str, str | None]
    upload_batch_size: int = 100
    upload_interval_s: float = 5.0
    max_queue_events: int = 10_000
    http_timeout_s: float = 10.0
    synchronous: str = "normal"
    config_check_interval_s: float = 60.0


@dataclass(frozen=True, slots=True)
class Manifest:
    """The campaign configuration in force: campaigns, project settings and cohort ids."""

    version: str | None
    campaigns: tuple[Campaign, ...]
    project: ProjectSettings
    session_timeout_ms: int | None
    config_refresh_ms: int | None
    cohorts: frozenset[str]
    raw: Mapping[str, Any] = field(repr=False)

    @property
    def campaign_list(self) -> list[tuple[str, str]]:
        """``(id, name)`` pairs for ``ConfigFetchFinished.campaigns``."""
        return [(c.id, c.name) for c in self.campaigns]


def _text(value: object, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidConfig(name, "is required (a non-empty string)")
    return value.strip()


def _url(value: object, name: str) -> str:
    text = _text(value, name)
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidConfig(name, "must be an http(s) URL such as http://127.0.0.1:8000")
    return text.rstrip("/")


def default_data_dir(app_id: str) -> Path:
    """A per-user directory: ``$XDG_DATA_HOME/tidings/<app id>`` or the platform's equivalent."""
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in app_id)
    return base / "tidings" / safe


def build_config(
    *,
    app_id: object,
    api_key_public: object,
    api_key_secret: object,
    backend_url: object,
    config_url: object,
    default_config: object,
    data_dir: object,
    session_timeout: object,
    log_level: object,
    device: object,
    upload_batch_size: object = 100,
    upload_interval: object = 5.0,
    max_queue_events: object = 10_000,
    http_timeout: object = 10.0,
    synchronous: object = "normal",
    config_check_interval: object = 60.0,
) -> ClientConfig:
    """Check the arguments of ``Tidings(...)``; raise ``InvalidConfig`` naming the first bad one."""
    app = _text(app_id, "app_id")
    public = _text(api_key_public, "api_key_public")
    secret = _text(api_key_secret, "api_key_secret")
    backend = _url(backend_url, "backend_url")
    config_host = backend if config_url is None else _url(config_url, "config_url")
    manifest = None
    if default_config is not None:
        if not isinstance(default_config, str | bytes):
            raise InvalidConfig("default_config", "must be a JSON string")
        try:
            parsed = orjson.loads(default_config)
        except orjson.JSONDecodeError as exc:
            raise InvalidConfig("default_config", f"is not valid JSON: {exc}") from None
        manifest = parse_manifest(parsed, source="default_config", strict=True)
    if data_dir is None:
        directory = default_data_dir(app)
    elif isinstance(data_dir, str | os.PathLike):
        directory = Path(data_dir)
    else:
        raise InvalidConfig("data_dir", "must be a path")
    timeout = _positive(session_timeout, "session_timeout", allow_zero=True)
    if log_level not in LOG_LEVELS:
        raise InvalidConfig("log_level", f"must be one of {', '.join(LOG_LEVELS)}")
    overrides = _device(device)
    batch = _positive(upload_batch_size, "upload_batch_size")
    if int(batch) != batch or not 1 <= batch <= 1000:
        raise InvalidConfig("upload_batch_size", "must be an integer from 1 to 1000")
    max_queue = _positive(max_queue_events, "max_queue_events")
    if int(max_queue) != max_queue:
        raise InvalidConfig("max_queue_events", "must be an integer")
    if synchronous not in ("normal", "full"):
        raise InvalidConfig("synchronous", "must be 'normal' or 'full'")
    return ClientConfig(
        app_id=app,
        api_key_public=public,
        api_key_secret=secret,
        backend_url=backend,
        config_url=config_host,
        default_config=manifest,
        data_dir=directory,
        session_timeout_ms=round(timeout * 1000),
        log_level=str(log_level),
        device=overrides,
        upload_batch_size=int(batch),
        upload_interval_s=_positive(upload_interval, "upload_interval"),
        max_queue_events=int(max_queue),
        http_timeout_s=_positive(http_timeout, "http_timeout"),
        synchronous=str(synchronous),
        config_check_interval_s=_positive(config_check_interval, "config_check_interval"),
    )


def _positive(value: object, name: str, *, allow_zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidConfig(name, "must be a number")
    if value < 0 or (value == 0 and not allow_zero) or math.isnan(value):
        raise InvalidConfig(name, "must be a positive number")
    return float(value)


def _device(device: object) -> dict[str, str | None]:
    if device is None:
        return {}
    if not isinstance(device, Mapping):
        raise InvalidConfig("device", "must be a mapping of device attributes")
    out: dict[str, str | None] = {}
    for key, value in device.items():
        if key == "install_time":
            if not isinstance(value, int) or isinstance(value, bool):
                raise InvalidConfig("device.install_time", "must be epoch milliseconds")
            out[key] = str(value)
            continue
        if key not in DEVICE_FIELDS:
            raise InvalidConfig(f"device.{key}", f"is not one of {', '.join(DEVICE_FIELDS)}")
        if value is not None and (not isinstance(value, str) or not value):
            raise InvalidConfig(f"device.{key}", "must be a non-empty string or None")
        out[key] = value
    return out


def parse_manifest(obj: object, *, source: str = "config", strict: bool = False) -> Manifest:
    """Read ``{"version", "campaigns", "settings", "cohorts"}``.

    A campaign the client cannot read is skipped with a warning (a newer server may send fields
    this client does not know), unless ``strict`` (the app's own ``default_config``), where it is
    an error naming the path.
    """
    if not isinstance(obj, Mapping):
        raise InvalidConfig(source, "must be a JSON object")
    raw_campaigns = obj.get("campaigns") or []
    if not isinstance(raw_campaigns, list):
        raise InvalidConfig(f"{source}.campaigns", "must be a list")
    campaigns: list[Campaign] = []
    for i, item in enumerate(raw_campaigns):
        try:
            campaigns.append(parse_campaign(item))
        except InvalidInput as exc:
            if strict:
                raise InvalidConfig(f"{source}.campaigns[{i}].{exc.field}", exc.reason) from None
            log.warning("config: campaign %d skipped: %s", i, exc)
    settings = obj.get("settings") or {}
    if not isinstance(settings, Mapping):
        raise InvalidConfig(f"{source}.settings", "must be an object")
    try:
        project = parse_project_settings(dict(settings))
    except InvalidInput as exc:
        if strict:
            raise InvalidConfig(f"{source}.settings.{exc.field}", exc.reason) from None
        log.warning("config: frequency capping ignored: %s", exc)
        project = ProjectSettings()
    cohorts = obj.get("cohorts") or []
    if not isinstance(cohorts, list) or not all(isinstance(c, str) for c in cohorts):
        raise InvalidConfig(f"{source}.cohorts", "must be a list of cohort ids")
    version = obj.get("version")
    return Manifest(
        version=version if isinstance(version, str) else None,
        campaigns=tuple(campaigns),
        project=project,
        session_timeout_ms=_seconds_ms(settings.get("sessionTimeoutSeconds")),
        config_refresh_ms=_seconds_ms(settings.get("configRefreshSeconds")),
        cohorts=frozenset(cohorts),
        raw=obj,
    )


def _seconds_ms(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        return None
    return round(value * 1000)
