"""The upload envelope of ``POST /api/v1/session``, as types the SDK and the server share.

The SDK builds these objects and the server validates them (docs/spec/http-api.md): one place
names every key, so a key renamed on one side is a type error on the other. ``total=False``
marks the keys an upload may leave out.
"""

from __future__ import annotations

from typing import Any, TypedDict


class SdkBlock(TypedDict):
    """``device.sdk``: which SDK sent the upload."""

    name: str
    version: str


class DeviceBlock(TypedDict, total=False):
    """``device``: what is known about the device; unknown values are left out."""

    deviceId: str
    platform: str
    osVersion: str
    appVersion: str
    appInstallVersion: str
    country: str
    timezone: str
    locale: str
    model: str
    manufacturer: str
    installTime: int
    sdk: SdkBlock


class UserBlock(TypedDict, total=False):
    """``user``: the user id (``None`` when signed out) and the custom properties."""

    userId: str | None
    customProperties: dict[str, Any]


class SessionBlock(TypedDict, total=False):
    """One ``sessions[]`` item: a session the uploaded events belong to."""

    id: str
    counter: int
    type: str
    startedAt: int
    endedAt: int


class EventItem(TypedDict):
    """One ``events[]`` item (an SDK ``EventRecord`` as JSON)."""

    id: str
    name: str
    type: str
    timestamp: int
    sessionId: str | None
    properties: dict[str, Any]


class UploadHead(TypedDict):
    """The envelope without its items: what the SDK's client knows when a batch is made."""

    appId: str
    device: DeviceBlock
    user: UserBlock


class UploadEnvelope(UploadHead, total=False):
    """A whole upload: the head, the sessions of its events, the items, and how many events
    the device dropped (its queue was full)."""

    sessions: list[SessionBlock]
    dropped: int
    events: list[EventItem]
    decisions: list[dict[str, Any]]
