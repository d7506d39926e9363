"""Who this device is: a persisted device id and install facts, plus what the host can tell us.

The device id is a random UUID made on first launch and kept in the store, so it survives
restarts and is shared by every process using the same ``data_dir``. Attributes the app does not
pass in ``device=`` are read from the host where Python can know them (platform, OS release,
machine, locale, time zone); anything unknown stays ``None`` and simply matches no targeting
slot but ``isNotSet``/``exclude``.
"""

from __future__ import annotations

import locale
import os
import platform
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from tidings.core.envelope import DeviceBlock
from tidings.core.profile import DeviceProfile


def host_timezone() -> str | None:
    """The IANA zone name from ``$TZ`` or the ``/etc/localtime`` link, when one is set."""
    tz = os.environ.get("TZ")
    if tz and "/" in tz and not tz.startswith(("/", ":")):
        return tz
    try:
        target = str(Path("/etc/localtime").resolve())
    except OSError:
        return None
    marker = "zoneinfo/"
    if marker in target:
        return target.split(marker, 1)[1] or None
    return None


def host_locale() -> str | None:
    try:
        lang = locale.getlocale()[0]
    except ValueError:
        return None
    return lang.replace("_", "-") if lang and lang not in ("C", "POSIX") else None


def host_attributes() -> dict[str, str | None]:
    """Defaults for the ``device`` block of uploads and the ``@device`` data set."""
    loc = host_locale()
    country = loc.split("-")[1].upper() if loc and "-" in loc else None
    return {
        "platform": platform.system().lower() or None,
        "os_version": platform.release() or None,
        "model": platform.machine() or None,
        "manufacturer": None,
        "locale": loc,
        "country": country if country and len(country) == 2 else None,
        "timezone": host_timezone(),
        "app_version": None,
    }


def load_identity(saved: Mapping[str, Any] | None, now_ms: int) -> dict[str, Any]:
    """The persisted identity, created on first launch."""
    if saved and isinstance(saved.get("deviceId"), str):
        return dict(saved)
    return {"deviceId": str(uuid.uuid4()), "installTime": now_ms, "installVersion": None}


def build_profile(
    identity: dict[str, Any], overrides: Mapping[str, str | None], app_id: str
) -> tuple[DeviceProfile, dict[str, str | None]]:
    """The core profile plus the upload-only attributes (locale, model, manufacturer)."""
    attrs = host_attributes()
    attrs.update({k: v for k, v in overrides.items() if k != "install_time"})
    app_version = attrs.get("app_version")
    if identity.get("installVersion") is None and app_version:
        identity["installVersion"] = app_version
    install_time = overrides.get("install_time")
    profile = DeviceProfile(
        device_id=attrs.get("device_id") or identity["deviceId"],
        platform=attrs.get("platform"),
        os_version=attrs.get("os_version"),
        app_version=app_version,
        app_install_version=attrs.get("app_install_version") or identity.get("installVersion"),
        country=attrs.get("country"),
        timezone=attrs.get("timezone"),
        install_time=int(install_time) if install_time else identity.get("installTime"),
        application=app_id,
    )
    extra = {k: attrs.get(k) for k in ("locale", "model", "manufacturer")}
    return profile, extra


def device_block(
    profile: DeviceProfile, extra: Mapping[str, str | None], sdk_version: str
) -> DeviceBlock:
    """The ``device`` object of an upload (docs/spec/http-api.md); unknown fields are left out."""
    block: dict[str, Any] = {
        "deviceId": profile.device_id,
        "platform": profile.platform,
        "osVersion": profile.os_version,
        "appVersion": profile.app_version,
        "appInstallVersion": profile.app_install_version,
        "country": profile.country,
        "timezone": profile.timezone,
        "locale": extra.get("locale"),
        "model": extra.get("model"),
        "manufacturer": extra.get("manufacturer"),
        "installTime": profile.install_time,
    }
    out = {k: v for k, v in block.items() if v is not None}
    out["sdk"] = {"name": "tidings-python", "version": sdk_version}
    return cast(DeviceBlock, out)
