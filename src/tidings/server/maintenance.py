"""Background upkeep of a server process: forgetting old stored responses.

Every signed upload stores its response under its request id so that a retry gets the first
answer (docs/spec/http-api.md). Kept forever, that table would grow by one row per request and
slow every later insert into it; a device retries within minutes, and even a retry after the
response is gone stores nothing twice (events and decisions are deduplicated by their own
ids), so responses are kept for ``ServerSettings.response_ttl_seconds`` (a day by default).
"""

from __future__ import annotations

import asyncio
import logging

from tidings.server.settings import ServerSettings
from tidings.storage import Store

log = logging.getLogger("tidings.server")


async def prune_stored_responses(store: Store, settings: ServerSettings) -> None:
    """Forget responses older than the TTL now, then every ``prune_interval_seconds``.

    Runs until cancelled. A failed round is logged and tried again next time: pruning is
    idempotent, and several server processes on one database may all run it.
    """
    while True:
        cutoff = settings.now_ms() - int(settings.response_ttl_seconds * 1000)
        try:
            removed = await store.prune_responses(cutoff)
        except Exception as exc:  # the database may be briefly unavailable
            log.warning("pruning stored responses failed: %s", exc)
        else:
            if removed:
                log.info("forgot %d stored responses older than %d", removed, cutoff)
        await asyncio.sleep(settings.prune_interval_seconds)
