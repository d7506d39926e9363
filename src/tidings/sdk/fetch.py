"""The config fetch (worker thread): ``GET /api/v1/config`` with ETag, then ``ConfigFetchFinished``.

The caller has already recorded ``ConfigFetchStarted``. A 200 replaces the configuration in force
and is cached with its ETag for the next launch; a 304 confirms the cached one; anything else
(including no answer) keeps what is in force and reports ``success: false``. In every case the
result is applied *before* ``ConfigFetchFinished`` is recorded, so a campaign triggered by that
event already sees the new configuration.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import httpx

from tidings.core.errors import InvalidInput
from tidings.sdk.config import parse_manifest
from tidings.sdk.upload import is_pause_status

if TYPE_CHECKING:
    from tidings.sdk.client import Tidings

log = logging.getLogger("tidings.sdk")


def fetch_config(client: Tidings) -> None:
    """One fetch for ``client``; never raises."""
    with client._lock:
        if client._closed:
            return
        etag = client._etag if client._manifest is not None else None
        device_id = client._profile.device_id
        user_id = client._device.state.user_id
    success = False
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
            with client._lock:
                client._apply(manifest)
                client._etag = new_etag
                if not client._closed:
                    client._store.put_json("config", {"etag": new_etag, "manifest": reply.body})
            success = True
    elif reply is not None and reply.status == 304:
        success = True
    elif reply is not None:
        level = logging.ERROR if is_pause_status(reply.status) else logging.WARNING
        log.log(level, "config: fetch refused with %d %s", reply.status, reply.error_message)
    with client._lock:
        if client._closed or not client._device.state.session.in_session:
            return
        current = client._manifest
        campaigns = current.campaign_list if current is not None else []
        client._commit(
            client._device.config_fetch_finished(client._clock.now_ms(), success, campaigns)
        )
