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
from typing import TYPE_CHECKING

import httpx

from tidings.core.errors import InvalidInput
from tidings.sdk.config import parse_manifest
from tidings.sdk.upload import is_pause_status

if TYPE_CHECKING:
    from tidings.sdk.client import Tidings

log = logging.getLogger("tidings.sdk")

REVISION_HEADER = "x-config-revision"


def fetch_config(client: Tidings, *, check: bool = False) -> None:
    """One fetch for ``client``; never raises."""
    with client._lock:
        if client._closed:
            return
        etag = client._etag if client._manifest is not None else None
        device_id = client._profile.device_id
        user_id = client._device.state.user_id
    client._next_config_check = time.monotonic() + client.config.config_check_interval_s
    success = changed = False
    try:
        reply = client._transport.get_config(etag, device_id, user_id)
    except httpx.HTTPError as exc:
        log.warning("config: fetch failed: %s", exc)
        reply = None
    if reply is not None and reply.status == 200:
        try:
            manifest = parse_manifest(reply.body)
        except InvalidInput as exc:
            log.error("config: the server sent an unreadable configuration: %s", exc)
        else:
            new_etag = reply.headers.get("etag") or manifest.version
            revision = reply.headers.get(REVISION_HEADER)
            with client._lock:
                client._apply(manifest)
                client._etag = new_etag
                client._config_revision = revision
                if not client._closed:
                    cached = {"etag": new_etag, "manifest": reply.body, "revision": revision}
                    client._store.put_json("config", cached)
            success = changed = True
    elif reply is not None and reply.status == 304:
        client._config_revision = reply.headers.get(REVISION_HEADER) or client._config_revision
        success = True
    elif reply is not None:
        level = logging.ERROR if is_pause_status(reply.status) else logging.WARNING
        log.log(level, "config: fetch refused with %d %s", reply.status, reply.error_message)
    if check and not changed:
        return
    with client._lock:
        if client._closed or not client._device.state.session.in_session:
            return
        current = client._manifest
        campaigns = current.campaign_list if current is not None else []
        now = client._clock.now_ms()
        out = client._device.config_fetch_started(now) if check else []
        out += client._device.config_fetch_finished(now, success, campaigns)
        client._commit(out)
