"""Last-known device profiles: what the server last heard about each device of an app.

Uploads and Segment ``identify`` calls carry a device's attributes (platform, versions, country,
install time, custom properties); the server keeps the latest of each per device so the editor
can tell how many devices a campaign's Who matches before it is started.

Every profile has a ``sample_key``: 32 bits of a hash of its device id, uniform over devices.
"The profiles with ``sample_key`` below k" is then a uniform sample of an app's devices that an
index serves directly, so an estimate over a million profiles reads a bounded number of rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final

SAMPLE_SPACE: Final = 1 << 32
"""``sample_key`` is in ``[0, SAMPLE_SPACE)``."""


def sample_key(device_id: str) -> int:
    """The device's place in the sample order (stable across processes and backends)."""
    return int.from_bytes(hashlib.blake2b(device_id.encode(), digest_size=4).digest(), "big")


@dataclass(frozen=True, slots=True)
class ProfileUpdate:
    """What one upload or ``identify`` said about a device. ``None``: not said (the stored value
    stays); ``custom_properties`` replaces the stored map, unless ``merge_properties`` (Segment
    traits are merged key by key)."""

    app_id: str
    device_id: str
    seen_ms: int
    user_id: str | None = None
    platform: str | None = None
    os_version: str | None = None
    app_version: str | None = None
    app_install_version: str | None = None
    country: str | None = None
    install_time: int | None = None
    custom_properties: Mapping[str, Any] | None = None
    merge_properties: bool = False

    def combined(self, later: ProfileUpdate) -> ProfileUpdate:
        """This update followed by ``later`` (same device), as one update."""
        props, merge = self.custom_properties, self.merge_properties
        if later.custom_properties is not None:
            if later.merge_properties and props is not None:
                props = {**props, **later.custom_properties}  # still merged as ``self`` was
            else:
                props, merge = later.custom_properties, later.merge_properties
        installed = later.install_time if later.install_time is not None else self.install_time
        return replace(
            self,
            seen_ms=max(self.seen_ms, later.seen_ms),
            user_id=later.user_id or self.user_id,
            platform=later.platform or self.platform,
            os_version=later.os_version or self.os_version,
            app_version=later.app_version or self.app_version,
            app_install_version=later.app_install_version or self.app_install_version,
            country=later.country or self.country,
            install_time=installed,
            custom_properties=props,
            merge_properties=merge,
        )


@dataclass(frozen=True, slots=True)
class DeviceProfileRecord:
    """A stored profile; ``cohorts`` holds those of the asked-about cohorts it is a member of
    (by its device id or its user id)."""

    app_id: str
    device_id: str
    last_seen_ms: int
    user_id: str | None = None
    platform: str | None = None
    os_version: str | None = None
    app_version: str | None = None
    app_install_version: str | None = None
    country: str | None = None
    install_time: int | None = None
    custom_properties: Mapping[str, Any] = field(default_factory=dict)
    cohorts: frozenset[str] = frozenset()

    def updated(self, update: ProfileUpdate) -> DeviceProfileRecord:
        """This profile after ``update`` (fields it leaves out keep their stored value)."""
        props: Mapping[str, Any] = self.custom_properties
        if update.custom_properties is not None:
            props = (
                {**props, **update.custom_properties}
                if update.merge_properties
                else dict(update.custom_properties)
            )
        return replace(
            self,
            last_seen_ms=max(self.last_seen_ms, update.seen_ms),
            user_id=update.user_id or self.user_id,
            platform=update.platform or self.platform,
            os_version=update.os_version or self.os_version,
            app_version=update.app_version or self.app_version,
            app_install_version=update.app_install_version or self.app_install_version,
            country=update.country or self.country,
            install_time=update.install_time
            if update.install_time is not None
            else self.install_time,
            custom_properties=props,
        )


@dataclass(frozen=True, slots=True)
class ProfileCounts:
    """How many profiles an app has, and how many were seen since a given time."""

    total: int
    seen_since: int
