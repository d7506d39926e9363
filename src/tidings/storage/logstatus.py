"""Where every consumer of the event log is: per cursor (and partition) its position, its lag
and which process holds it. Read by ``tidings status`` and ``/metrics``; only the store's roles
are used, so it reads a log in the database and one on JetStream alike."""

from __future__ import annotations

import time
from dataclasses import dataclass

from tidings.core.partitions import split_cursor
from tidings.storage.roles import Store

MEMBER_PREFIX = "pipeline-member:"
"""Lease names by which pipeline processes announce themselves (see the runner)."""


@dataclass(frozen=True, slots=True)
class CursorStatus:
    """One cursor: consumer, partition (``None`` for the whole log), position, lag, owner."""

    consumer: str
    partition: int | None
    position: int
    lag: int
    owner: str | None


@dataclass(frozen=True, slots=True)
class LogStatus:
    """The log's end, its partitions, the live pipeline processes and every cursor."""

    last_seq: int
    partitions: int
    members: list[str]
    cursors: list[CursorStatus]


async def log_status(store: Store, at_ms: int | None = None) -> LogStatus:
    """The status now (``at_ms`` decides which leases are live; default the clock)."""
    at = int(time.time() * 1000) if at_ms is None else at_ms
    leases = await store.list_leases()
    live = {x.name: x.holder for x in leases if x.expires_at > at}
    members = sorted(h for n, h in live.items() if n.startswith(MEMBER_PREFIX))
    out: list[CursorStatus] = []
    for name, position in sorted((await store.list_cursors()).items()):
        consumer, partition = split_cursor(name)
        if store.partitions > 1 and partition is None:
            continue  # a consumer's creation mark; its partitions are what move
        lag = await store.lag(name)
        out.append(CursorStatus(consumer, partition, position, lag, live.get(name)))
    return LogStatus(await store.last_seq(), store.partitions, members, out)
