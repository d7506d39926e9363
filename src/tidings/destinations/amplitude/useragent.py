"""User agents parsed to Amplitude's conventions (those of ua-parser-js 0.7, which Amplitude uses).

``ua-parser`` (the Browserscope/uap rules) does the parsing; a small table renames its families to
the names Amplitude shows ("Mac OS X" is "Mac OS", "Chrome Mobile" is "Chrome"), and desktop
"devices" (uap reports a Mac as a device) are dropped, because ua-parser-js 0.7 reports none and the
model then falls back to the OS name. Results are cached: one app sends the same few agents.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import ua_parser

USER_AGENT_KEYS = frozenset(
    {"os_name", "os_version", "device_manufacturer", "device_model", "device_type", "user_agent"}
)
"""Every event key the user agent can set (parsed fields and the raw agent)."""

_OS_NAMES = {
    "Mac OS X": "Mac OS",
    "Chrome OS": "Chromium OS",
    "Windows Phone": "Windows Phone",
    "iPadOS": "iOS",
}
_BROWSER_NAMES = {
    "Chrome Mobile": "Chrome",
    "Chrome Mobile iOS": "Chrome",
    "Chrome Mobile WebView": "Chrome WebView",
    "Firefox Mobile": "Firefox",
    "Firefox iOS": "Firefox",
    "Samsung Internet": "Samsung Browser",
    "Edge Mobile": "Edge",
    "Opera Mobile": "Opera Mobi",
}
_NOT_DEVICES = frozenset({"Other", "Mac", "Spider", "Generic Smartphone", "Generic Feature Phone"})
_NOT_BRANDS = frozenset({"Generic", "Generic_Android", "Generic_Android_Tablet", "Generic_Inettv"})
_TABLET = re.compile(r"iPad|Tablet|Kindle|Silk|PlayBook|Nexus (7|9|10)\b", re.IGNORECASE)
_MOBILE = re.compile(r"iPhone|iPod|Mobile|Windows Phone|BlackBerry|Opera Mini", re.IGNORECASE)


def _os_name(family: str) -> str:
    if family.startswith("Windows"):
        return "Windows Phone" if "Phone" in family else "Windows"
    return _OS_NAMES.get(family, family)


@lru_cache(maxsize=2048)
def _parse(user_agent: str) -> tuple[tuple[str, Any], ...]:
    result = ua_parser.parse(user_agent)
    os_name: str | None = None
    browser_name: str | None = None
    browser_major: str | None = None
    if result.os is not None and result.os.family != "Other":
        os_name = _os_name(result.os.family)
    if result.user_agent is not None and result.user_agent.family != "Other":
        browser_name = _BROWSER_NAMES.get(result.user_agent.family, result.user_agent.family)
        browser_major = result.user_agent.major
    vendor: str | None = None
    model: str | None = None
    device = result.device
    if device is not None and device.family not in _NOT_DEVICES:
        vendor = device.brand if device.brand not in _NOT_BRANDS else None
        model = device.model or None
    device_type: str | None = None
    if _TABLET.search(user_agent) or (os_name == "Android" and "Mobile" not in user_agent):
        device_type = "tablet"
    elif _MOBILE.search(user_agent):
        device_type = "mobile"
    fields: dict[str, Any] = {
        "os_name": os_name or browser_name,
        "os_version": browser_major,
        "device_manufacturer": vendor,
        "device_model": model or os_name,
        "device_type": device_type,
    }
    return tuple((k, v) for k, v in fields.items() if v is not None)


def parse_user_agent(
    user_agent: str, model: str | None = None, platform_version: str | None = None
) -> dict[str, Any]:
    """Amplitude's device fields for a user agent; client hints win when given.

    ``os_version`` is the client-hint ``platformVersion`` when present, else the *browser* major
    version (Amplitude's own convention); ``device_model`` is the hint model, the device model, or
    the OS name, in that order.
    """
    fields = dict(_parse(user_agent))
    if platform_version:
        fields["os_version"] = platform_version
    if model:
        fields["device_model"] = model
    return fields
