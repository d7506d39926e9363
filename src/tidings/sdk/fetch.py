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
from typing import Any, Protocol

import httpx

from tidings.core.errors import InvalidInput
from tidings.sdk.config import Manifest, parse_manifest
from tidings.sdk.transport import Reply, is_pause_status

log = logging.getLogger("tidings.sdk")

REVISION_HEADER = "x-config-revision"


class ConfigHost(Protocol):
    """What a fetch needs of the client: the request to make, and where the answer goes (each
    call takes the client's lock itself; none holds it across the request)."""

    def _config_request(self) -> tuple[str | None, str, str | None] | None:
        """``(etag, device id, user id)`` of the next fetch, or ``None`` once closed; the next
        periodic check is counted from here."""
        ...

    def _get_config(self, etag: str | None, device_id: str, user_id: str | None) -> Reply:
        """The HTTP exchange (raises ``httpx.HTTPError`` when there is no answer)."""
        ...

    def _config_fetched(
        self, manifest: Manifest, etag: str | None, body: Any, revision: str | None
    ) -> None:
        """Put a fetched configuration in force and cache it with its ETag and revision."""
        ...

    def _config_unchanged(self, revision: str | None) -> None:
        """The server answered 304: remember the revision it named."""
        ...

    def _config_finished(self, success: bool, *, check: bool = False) -> None:
        """Record the fetch's events (when still in a session): ``ConfigFetchFinished``, after a
        ``ConfigFetchStarted`` for a periodic check."""
        ...


def fetch_config(client: ConfigHost, *, check: bool = False) -> None:
    """One fetch for ``client``; never raises. A periodic ``check`` records events only when a
    new configuration arrived."""
    request = client._config_request()
    if request is None:
        return
    etag, device_id, user_id = request
    success = changed = False
    try:
        reply: Reply | None = client._get_config(etag, device_id, user_id)
    except httpx.HTTPError as exc:
        log.warning("config: fetch failed: %s", exc)
        reply = None
    if reply is not None and reply.status == 200:
        try:
            manifest = parse_manifest(reply.body)
        except InvalidInput as exc:
            log.error("config: the server sent an unreadable configuration: %s", exc)
        else:
            client._config_fetched(
                manifest,
                reply.headers.get("etag") or manifest.version,
                reply.body,
                reply.headers.get(REVISION_HEADER),
            )
            success = changed = True
    elif reply is not None and reply.status == 304:
        client._config_unchanged(reply.headers.get(REVISION_HEADER))
        success = True
    elif reply is not None:
        level = logging.ERROR if is_pause_status(reply.status) else logging.WARNING
        log.log(level, "config: fetch refused with %d %s", reply.status, reply.error_message)
    if check and not changed:
        return
    client._config_finished(success, check=check)
