"""What the device knows about itself: the ``@device`` attributes targeting reads."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DeviceProfile:
    """Static device attributes. Every field but ``device_id`` may be unknown (``None``).

    ``timezone`` is an IANA name (``Europe/Warsaw``); ``install_time`` is epoch ms;
    ``application`` is the app id the campaign ``application`` slot compares against.
    """

    device_id: str
    platform: str | None = None
    os_version: str | None = None
    app_version: str | None = None
    app_install_version: str | None = None
    country: str | None = None
    timezone: str | None = None
    install_time: int | None = None
    application: str | None = None
