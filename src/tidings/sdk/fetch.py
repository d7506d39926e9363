"""The config fetch (worker thread): ``GET /api/v1/config`` with ETag, then ``ConfigFetchFinished``.

A launch or warm-start fetch follows ``ConfigFetchStarted``, which the caller has already
recorded. A 200 replaces the configuration in force and is cached with its ETag and config
revision for the next launch; a 304 confirms the cached one; anything else (including no answer)
keeps what is in force and reports ``success: false``. In every case the result is applied
*before* ``ConfigFetchFinished`` is recorded, so a campaign triggered by that event already sees
the new configuration.

A foreground *check* (``check=True``: the periodic one, or one an upload response asked for) is
the same request, but it records ``ConfigFetchStarted`` / ``ConfigFetchFinished`` only when a new
configuration arrived: a device in the foreground checks every minute, and a 304 is not worth
two events per device per minute in the event log.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx

from tidings.core.errors import InvalidInput
from tidings.sdk.config import Manifest, parse_manifest
from tidings.sdk.recorder import Recorder
from tidings.sdk.transport import Reply, Transport, is_pause_status

log = logging.getLogger("tidings.sdk")

REVISION_HEADER = "x-config-revision"


class ConfigFetch:
    """The client's configuration fetches: the ETag and revision of the configuration in force,
    when the next foreground check is due, and the fetch itself (run on the worker).

    It works on the client's :class:`~tidings.sdk.recorder.Recorder` (its lock, device, store
    and the configuration in force) and sends through the client's transport; every method
    takes the lock itself and none holds it across the request.
    """

    def __init__(self, rec: Recorder, transport: Transport) -> None:
        self.rec = rec
        self.transport = transport
        self.etag: str | None = None
        self.revision: str | None = None
        self.next_check = time.monotonic() + rec.config.config_check_interval_s

    def load_cached(self) -> None:
        """Put the configuration cached by the last run in force (else the default one)."""
        rec = self.rec
        cached = rec.store.db.get_json("config")
        if cached:
            try:
                rec.apply(parse_manifest(cached["manifest"]))
                self.etag = cached.get("etag")
                self.revision = cached.get("revision")
            except (InvalidInput, KeyError, TypeError) as exc:
                log.warning("config: cached configuration ignored: %s", exc)
        if rec.manifest is None and rec.config.default_config is not None:
            rec.apply(rec.config.default_config)

    def run(self, *, check: bool = False) -> None:
        """One fetch; never raises. A periodic ``check`` records events only when a new
        configuration arrived."""
        request = self._request(check)
        if request is None:
            return
        etag, device_id, user_id = request
        success = changed = False
        try:
            reply: Reply | None = self.transport.get_config(etag, device_id, user_id)
        except httpx.HTTPError as exc:
            log.warning("config: fetch failed: %s", exc)
            reply = None
        if reply is not None and reply.status == 200:
            try:
                manifest = parse_manifest(reply.body)
            except InvalidInput as exc:
                log.error("config: the server sent an unreadable configuration: %s", exc)
            else:
                self._fetched(
                    manifest,
                    reply.headers.get("etag") or manifest.version,
                    reply.body,
                    reply.headers.get(REVISION_HEADER),
                )
                success = changed = True
        elif reply is not None and reply.status == 304:
            self._unchanged(reply.headers.get(REVISION_HEADER))
            success = True
        elif reply is not None:
            level = logging.ERROR if is_pause_status(reply.status) else logging.WARNING
            log.log(level, "config: fetch refused with %d %s", reply.status, reply.error_message)
        if check and not changed:
            return
        self._finished(success, check=check)

    def check_if_due(self, now: float) -> float:
        """Check the configuration when the periodic check is due (``now``: monotonic); the
        wait until the next one."""
        if now >= self.next_check:
            self.run(check=True)
        return max(0.0, self.next_check - time.monotonic())

    def upload_saw_revision(self, revision: str | None) -> None:
        """An upload answer names the server's config revision: check now when it moved, else
        the configuration is known to be current and the periodic check can wait."""
        if revision is None:
            return
        if revision != self.revision:
            self.next_check = 0.0
        else:
            self.next_check = time.monotonic() + self.rec.config.config_check_interval_s

    def _request(self, check: bool) -> tuple[str | None, str, str | None] | None:
        """``(etag, device id, user id)`` of the next fetch, or ``None`` once closed (or, for a
        periodic check, once in the background: decided under the lock ``background()`` takes,
        so no check starts after it); the next periodic check is counted from here."""
        rec = self.rec
        with rec.lock:
            if rec.closed or (check and not rec.device.in_foreground):
                return None
            self.next_check = time.monotonic() + rec.config.config_check_interval_s
            etag = self.etag if rec.manifest is not None else None
            return etag, rec.profile.device_id, rec.device.state.user_id

    def _fetched(
        self, manifest: Manifest, etag: str | None, body: Any, revision: str | None
    ) -> None:
        """Put a fetched configuration in force and cache it with its ETag and revision."""
        rec = self.rec
        with rec.lock:
            rec.apply(manifest)
            self.etag = etag
            self.revision = revision
            if not rec.closed:
                rec.store.db.put_json(
                    "config", {"etag": etag, "manifest": body, "revision": revision}
                )

    def _unchanged(self, revision: str | None) -> None:
        """The server answered 304: remember the revision it named."""
        with self.rec.lock:
            self.revision = revision or self.revision

    def _finished(self, success: bool, *, check: bool = False) -> None:
        """Record the fetch's events (when still in a session): ``ConfigFetchFinished``, after a
        ``ConfigFetchStarted`` for a periodic check."""
        rec = self.rec
        with rec.lock:
            if rec.closed or not rec.device.state.session.in_session:
                return
            current = rec.manifest
            campaigns = current.campaign_list if current is not None else []
            now = rec.clock.now_ms()
            out = rec.device.config_fetch_started(now) if check else []
            out += rec.device.config_fetch_finished(now, success, campaigns)
            rec.commit(out)
