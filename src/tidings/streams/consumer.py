"""Drive a sink from the durable event log through a named consumer cursor.

The event log is asyncio-based (``read_after`` / ``commit_cursor`` of the store), the sinks are
synchronous and may block on disk or network, so each batch is delivered on a worker thread and
the cursor is committed only after the sink returned: at least once, and resumable from the
committed position after any crash.

A row whose payload cannot become a record (a bug in a writer, not a delivery failure) is
skipped with a warning naming its sequence number: blocking the whole stream behind one
unreadable row would be worse, and the row itself stays in the log for inspection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from tidings.core.errors import InvalidInput
from tidings.streams.accounts import AccountIds
from tidings.streams.fromlog import LogRow, records_from_row
from tidings.streams.records import Record
from tidings.streams.sink import Sink, SinkUnavailableError, deliver_isolating

_log = logging.getLogger(__name__)


class CursorLog(Protocol):
    """The two event-log calls a consumer needs (``tidings.storage.Store`` provides them)."""

    async def read_after(self, cursor: str, limit: int = 1000) -> Sequence[LogRow]: ...

    async def commit_cursor(self, cursor: str, seq: int) -> None: ...


@dataclass(slots=True)
class ConsumerStats:
    """What a consumer did so far."""

    rows: int = 0
    records: int = 0
    batches: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)
    """``(seq, reason)`` of rows that could not be turned into records."""
    refused: list[tuple[str, str]] = field(default_factory=list)
    """``(event_id, reason)`` of records the sink could not take (skipped too)."""


class StreamConsumer:
    """Read the log after ``cursor``, build records, deliver them, then commit the cursor.

    ``app_ids`` limits the stream to some apps (``None``: every app); rows of other apps are
    passed over but still move the cursor. ``accounts`` gives campaign records their
    ``awsAccountId`` (without it they have none).
    """

    def __init__(
        self,
        log: CursorLog,
        sink: Sink,
        cursor: str,
        *,
        batch_size: int = 500,
        app_ids: Sequence[str] | None = None,
        accounts: AccountIds | None = None,
        build: Callable[[LogRow, str | None], list[Record]] = records_from_row,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.log = log
        self.sink = sink
        self.cursor = cursor
        self.batch_size = batch_size
        self.app_ids = frozenset(app_ids) if app_ids is not None else None
        self.accounts = accounts
        self.build = build
        self.stats = ConsumerStats()

    async def run_once(self) -> int:
        """Deliver one batch of log rows; returns how many rows it covered (0 when caught up).

        Raises :class:`SinkUnavailableError` with the cursor unchanged when the sink is down.
        """
        rows = await self.log.read_after(self.cursor, self.batch_size)
        if not rows:
            await asyncio.to_thread(self.sink.maintain)
            return 0
        records: list[Record] = []
        wanted = [r for r in rows if self.app_ids is None or r.app_id in self.app_ids]
        known = {} if self.accounts is None else await self.accounts.of(r.app_id for r in wanted)
        for row in wanted:
            try:
                records.extend(self.build(row, known.get(row.app_id)))
            except InvalidInput as exc:
                _log.warning("stream %s: log row %d skipped: %s", self.cursor, row.seq, exc)
                self.stats.skipped.append((row.seq, str(exc)))
        if records:
            refused = await asyncio.to_thread(deliver_isolating, self.sink.deliver, records)
            for event_id, reason in refused:
                _log.warning("stream %s: record %s skipped: %s", self.cursor, event_id, reason)
                self.stats.refused.append((event_id, reason))
        await self.log.commit_cursor(self.cursor, rows[-1].seq)
        self.stats.rows += len(rows)
        self.stats.records += len(records)
        self.stats.batches += 1
        return len(rows)

    async def run_until_idle(self) -> ConsumerStats:
        """Deliver batches until the log has nothing new for this cursor."""
        while await self.run_once():
            pass
        return self.stats

    async def run_forever(
        self,
        *,
        idle_seconds: float = 1.0,
        retry_seconds: float = 5.0,
        stop: asyncio.Event | None = None,
    ) -> None:
        """The long-running loop: poll when idle, back off while the sink is unavailable."""
        while stop is None or not stop.is_set():
            try:
                count = await self.run_once()
            except SinkUnavailableError as exc:
                _log.warning("stream %s: sink unavailable, retrying: %s", self.cursor, exc)
                count, delay = 0, retry_seconds
            else:
                delay = idle_seconds
            if count == 0:
                if stop is None:
                    await asyncio.sleep(delay)
                else:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), delay)
