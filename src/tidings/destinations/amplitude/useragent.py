"""User agents parsed to Amplitude's conventions (those of ua-parser-js 0.7, which Amplitude uses).

``uaregexes`` applies ua-parser-js 0.7's own rules; this module turns its browser, OS and device
into Amplitude's fields the way Segment's "Amplitude (Actions)" does. Results are cached: one app
sends the same few agents.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from tidings.destinations.amplitude import uaregexes

USER_AGENT_KEYS = frozenset(
    {"os_name", "os_version", "device_manufacturer", "device_model", "device_type", "user_agent"}
)
"""Every event key the user agent can set (parsed fields and the raw agent)."""


@lru_cache(maxsize=2048)
def _parse(user_agent: str) -> tuple[tuple[str, Any], ...]:
    agent = uaregexes.parse(user_agent)
    fields: dict[str, Any] = {
        "os_name": agent.os_name if agent.os_name is not None else agent.browser_name,
        "os_version": agent.browser_major,
        "device_manufacturer": agent.device_vendor,
        "device_model": agent.device_model if agent.device_model is not None else agent.os_name,
        "device_type": agent.device_type,
    }
    return tuple((k, v) for k, v in fields.items() if v is not None)


def parse_user_agent(
    user_agent: str, model: str | None = None, platform_version: str | None = None
) -> dict[str, Any]:
    """Amplitude's device fields for a user agent; client hints win when given (not ``None``).

    ``os_name`` is the OS name, else the browser name; ``os_version`` is the client-hint
    ``platformVersion`` when present, else the *browser* major version (Amplitude's own
    convention); ``device_manufacturer`` and ``device_type`` are the device's vendor and type;
    ``device_model`` is the hint model, the device model, or the OS name, in that order.
    """
    fields = dict(_parse(user_agent))
    if platform_version is not None:  # ``""`` is a hint too (Segment's ``hint ?? parsed``)
        fields["os_version"] = platform_version
    if model is not None:
        fields["device_model"] = model
    return fields
