"""Keeping last-known device profiles from uploads and Segment ``identify``, in batches.

A profile is derived data (the events themselves are in the log), so it is not written in the
upload's own transaction: updates are gathered per device in memory, coalesced (a device that
uploads ten times in a second is one row write), and written in one transaction when
:data:`BATCH_SIZE` devices are waiting or the oldest waited :data:`MAX_WAIT_MS`, by the request
that finds it so or by the server's background flush. A crash loses at most that wait; the next
upload of each device restores its profile. Reading an estimate flushes first, so a process sees
its own updates.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any, Final

from tidings.storage import ProfileUpdate, Store

log = logging.getLogger("tidings.server")

BATCH_SIZE: Final = 1000
MAX_WAIT_MS: Final = 1000
MAX_PENDING: Final = 50_000
"""Devices waiting at most while writes fail; beyond it the oldest updates are dropped."""


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def from_upload(
    app_id: str,
    device: Mapping[str, Any],
    user_id: str | None,
    custom_properties: Mapping[str, Any] | None,
    seen_ms: int,
) -> ProfileUpdate:
    """What a validated upload's envelope says about its device."""
    install = device.get("installTime")
    return ProfileUpdate(
        app_id=app_id,
        device_id=str(device["deviceId"]),
        seen_ms=seen_ms,
        user_id=user_id,
        platform=_text(device.get("platform")),
        os_version=_text(device.get("osVersion")),
        app_version=_text(device.get("appVersion")),
        app_install_version=_text(device.get("appInstallVersion")),
        country=(_text(device.get("country")) or "").upper() or None,
        install_time=install
        if isinstance(install, int) and not isinstance(install, bool)
        else None,
        custom_properties=custom_properties,
    )


def from_identify(
    app_id: str,
    message: Mapping[str, Any],
    anonymous_id: str | None,
    user_id: str | None,
    seen_ms: int,
) -> ProfileUpdate | None:
    """A Segment ``identify``: its ``context`` (os, app, location) and its traits (merged)."""
    if not anonymous_id:
        return None  # a profile is per device; an identify of a user alone names none
    context = message.get("context")
    ctx: Mapping[str, Any] = context if isinstance(context, Mapping) else {}

    def part(name: str) -> Mapping[str, Any]:
        value = ctx.get(name)
        return value if isinstance(value, Mapping) else {}

    country = _text(part("location").get("country"))
    traits = message.get("traits")
    return ProfileUpdate(
        app_id=app_id,
        device_id=anonymous_id,
        seen_ms=seen_ms,
        user_id=user_id,
        platform=_text(part("os").get("name")),
        os_version=_text(part("os").get("version")),
        app_version=_text(part("app").get("version")),
        country=country.upper() if country and len(country) == 2 else None,
        custom_properties=dict(traits) if isinstance(traits, Mapping) and traits else None,
        merge_properties=True,
    )


class ProfileWriter:
    """Pending profile updates of one server process, written in batches."""

    def __init__(self, batch_size: int = BATCH_SIZE, max_wait_ms: int = MAX_WAIT_MS) -> None:
        self.batch_size = batch_size
        self.max_wait_ms = max_wait_ms
        self._pending: list[ProfileUpdate] = []
        self._devices: set[tuple[str, str]] = set()
        self._oldest_ms: int | None = None
        self._lock = asyncio.Lock()

    @property
    def pending(self) -> int:
        return len(self._devices)

    async def add(self, store: Store, update: ProfileUpdate, now_ms: int) -> None:
        """Queue one update; write the batch when it is full or old enough."""
        self._pending.append(update)
        self._devices.add((update.app_id, update.device_id))
        if self._oldest_ms is None:
            self._oldest_ms = now_ms
        if len(self._devices) >= self.batch_size or now_ms - self._oldest_ms >= self.max_wait_ms:
            await self.flush(store)

    async def flush(self, store: Store) -> None:
        """Write everything pending in one transaction (a failure keeps it for the next try)."""
        async with self._lock:
            batch, self._pending = self._pending, []
            self._devices, self._oldest_ms = set(), None
            if not batch:
                return
            try:
                await store.upsert_profiles(batch)
            except Exception as exc:  # the database may be briefly unavailable
                log.warning("writing %d device profile updates failed: %s", len(batch), exc)
                kept = (batch + self._pending)[-MAX_PENDING:]
                self._pending = kept
                self._devices = {(u.app_id, u.device_id) for u in kept}
                self._oldest_ms = kept[0].seen_ms if kept else None

    async def run(self, store: Store) -> None:
        """Flush whatever waits every ``max_wait_ms`` until cancelled (the server's lifespan)."""
        while True:
            await asyncio.sleep(self.max_wait_ms / 1000)
            if self._pending:
                await self.flush(store)


COUNT_TTL_MS: Final = 30_000
"""How long an app's profile count is reused: an editor asks again at every change of its rules,
and counting a million rows each time would cost more than judging the sample."""


class ProfileCountCache:
    """Profile counts per app, reused for :data:`COUNT_TTL_MS` (bounded to 10,000 apps)."""

    def __init__(self) -> None:
        self._counts: dict[str, tuple[int, int]] = {}

    async def total(self, store: Store, app_id: str, now_ms: int) -> int:
        cached = self._counts.get(app_id)
        if cached is not None and now_ms - cached[0] < COUNT_TTL_MS:
            return cached[1]
        total = (await store.profile_counts(app_id, 0)).total
        if len(self._counts) >= 10_000:
            self._counts.clear()
        self._counts[app_id] = (now_ms, total)
        return total
