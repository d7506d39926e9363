"""Run the sinks configured in the store: one handler per enabled sink, on its own cursor.

The pipeline asks :meth:`ConfiguredStreams.refresh` which sinks exist now (every few seconds, so
sinks added, paused, changed or removed at runtime come and go) and feeds each one's cursor
(``stream:<sink id>``) to :meth:`ConfiguredStreams.handle`. A batch is handled when the sink has
it (a synced file, acknowledged JetStream messages, a 2xx from the webhook) and the dead letters
it produced are stored; only then does the pipeline move the cursor. A crash in between re-sends
the batch: at least once, no gaps, duplicates with the same ``event_id``.

This layer knows nothing of the storage package: the store is reached through the small
:class:`SinkStore` protocol that ``tidings.storage.Store`` satisfies.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from tidings.core.errors import InvalidInput
from tidings.streams.accounts import AccountIds, ProjectReader
from tidings.streams.fromlog import LogRow, records_from_row
from tidings.streams.records import Record
from tidings.streams.sink import Sink, deliver_isolating
from tidings.streams.sinkconfig import (
    STREAMS_COLLECTION,
    DeadLetterHook,
    SinkSpec,
    build_sink,
    dead_letter_collection,
)

_log = logging.getLogger(__name__)

Skipped = dict[str, Any]
"""A skipped row (``{"seq", "reason"}``) or record (``{"eventId", "reason"}``)."""


class StoredDocument(Protocol):
    """The fields of a stored document this module reads (``tidings.storage.Document``)."""

    @property
    def id(self) -> str: ...

    @property
    def body(self) -> Mapping[str, Any]: ...

    @property
    def updated_at(self) -> int: ...


class SinkStore(ProjectReader, Protocol):
    """The store calls the configured streams make (and the account lookup's)."""

    async def list_documents(self, collection: str) -> Sequence[StoredDocument]: ...

    async def put_document(
        self, collection: str, doc_id: str, body: Mapping[str, Any]
    ) -> object: ...


def dead_letter_id(entry: Mapping[str, Any]) -> str:
    """A dead letter's id from the event ids it holds: a batch refused again after a restart
    replaces its first copy instead of being listed twice."""
    digest = hashlib.sha256()
    for record in entry.get("events") or ():
        digest.update(str(record.get("event_id", "")).encode())
        digest.update(b"\n")
    return "dl_" + digest.hexdigest()[:24]


@dataclass(slots=True)
class _Running:
    """A built sink. The thread lock keeps ``deliver`` and ``close`` apart even when a
    cancelled handler's worker thread is still writing."""

    spec: SinkSpec
    sink: Sink
    pending: list[dict[str, Any]]
    lock: threading.Lock = field(default_factory=threading.Lock)
    closed: bool = False

    def deliver(self, records: Sequence[Mapping[str, Any]]) -> None:
        with self.lock:
            if self.closed:
                raise RuntimeError(f"stream {self.spec.id}: sink was closed")
            self.sink.deliver(records)

    def maintain(self) -> None:
        with self.lock:
            if not self.closed:
                self.sink.maintain()

    def close(self) -> None:
        with self.lock:
            if not self.closed:
                self.closed = True
                self.sink.close()


def _build_and_deliver(
    running: _Running, rows: Sequence[LogRow], accounts: Mapping[str, str]
) -> tuple[int, list[Skipped]]:
    """The records of the sink's apps in ``rows`` (with their ``awsAccountId`` from
    ``accounts``), delivered; returns how many there were and what was skipped.

    A row whose payload cannot become a record, or a record the sink cannot take, is skipped
    with its reason (the row stays in the log): one bad record must not hold the stream back.
    """
    apps = frozenset(running.spec.app_ids)
    records: list[Record] = []
    skipped: list[Skipped] = []
    for row in rows:
        if row.app_id not in apps:
            continue
        try:
            records.extend(records_from_row(row, accounts.get(row.app_id)))
        except InvalidInput as exc:
            _log.warning("stream %s: log row %d skipped: %s", running.spec.id, row.seq, exc)
            skipped.append({"seq": row.seq, "reason": str(exc)})
    if records:
        for event_id, reason in deliver_isolating(running.deliver, records):
            _log.warning("stream %s: record %s skipped: %s", running.spec.id, event_id, reason)
            skipped.append({"eventId": event_id, "reason": reason})
    return len(records), skipped


Builder = Callable[[SinkSpec, DeadLetterHook], Sink]


def _default_builder(spec: SinkSpec, dead_letters: DeadLetterHook) -> Sink:
    return build_sink(spec, dead_letters=dead_letters)


class ConfiguredStreams:
    """The sinks of one store's ``streams`` documents, built on first use and kept open."""

    def __init__(self, store: SinkStore, *, build: Builder = _default_builder) -> None:
        self.store = store
        self._build = build
        self._specs: dict[str, SinkSpec] = {}
        self._running: dict[str, _Running] = {}
        self._guard = asyncio.Lock()
        self._accounts = AccountIds(store)
        self.delivered: dict[str, int] = {}
        """Records delivered per sink id by this process (for tests and status)."""

    async def refresh(self) -> list[SinkSpec]:
        """The enabled sinks as configured now; sinks removed, paused or changed are closed."""
        specs: dict[str, SinkSpec] = {}
        for doc in await self.store.list_documents(STREAMS_COLLECTION):
            try:
                spec = SinkSpec.from_document(doc.id, doc.body, doc.updated_at)
            except InvalidInput as exc:
                _log.warning("stream %s: configuration ignored: %s", doc.id, exc)
                continue
            if spec.enabled:
                specs[spec.id] = spec
        async with self._guard:
            self._specs = specs
            stale = [
                sid
                for sid, running in self._running.items()
                if sid not in specs or specs[sid].version != running.spec.version
            ]
            for sid in stale:
                await asyncio.to_thread(self._running.pop(sid).close)
            # Build new sinks now rather than on their first batch: opening a JSON Lines sink
            # completes the files a crash left open even when nothing new ever arrives.
            for sid in specs:
                if sid not in self._running:
                    try:
                        await self._open(sid)
                    except Exception as exc:
                        _log.warning("stream %s: cannot open the sink yet: %s", sid, exc)
        return list(specs.values())

    async def _open(self, sink_id: str) -> _Running:
        spec = self._specs.get(sink_id)
        if spec is None:
            raise RuntimeError(f"stream {sink_id}: no longer configured")
        pending: list[dict[str, Any]] = []
        sink = await asyncio.to_thread(self._build, spec, pending.append)
        running = _Running(spec, sink, pending)
        self._running[sink_id] = running
        return running

    async def _sink(self, sink_id: str) -> _Running:
        async with self._guard:
            running = self._running.get(sink_id)
            return running if running is not None else await self._open(sink_id)

    async def handle(self, sink_id: str, rows: Sequence[LogRow]) -> None:
        """Deliver the records of ``rows`` (those of the sink's apps) and store dead letters.

        Returns only when both are durable; raises to have the batch retried.
        """
        running = await self._sink(sink_id)
        accounts = await self._accounts.of(running.spec.app_ids)
        # Records are built on the worker thread too: the event loop keeps serving requests.
        count, skipped = await asyncio.to_thread(_build_and_deliver, running, rows, accounts)
        self.delivered[sink_id] = self.delivered.get(sink_id, 0) + count
        for entry in skipped:
            # Kept with the sink's dead letters, where the admin API lists them.
            key = entry.get("seq", entry.get("eventId"))
            await self.store.put_document(
                dead_letter_collection(sink_id), f"skip_{key}", {**entry, "skipped": True}
            )
        while running.pending:
            entry = running.pending[0]
            body = {**entry, "count": len(entry.get("events") or ())}
            await self.store.put_document(
                dead_letter_collection(sink_id), dead_letter_id(entry), body
            )
            running.pending.pop(0)

    async def maintain(self) -> None:
        """Idle housekeeping of every open sink (time-based rotation of JSON Lines files)."""
        for running in list(self._running.values()):
            try:
                await asyncio.to_thread(running.maintain)
            except Exception as exc:
                _log.warning("stream %s: housekeeping failed: %s", running.spec.id, exc)

    async def close(self) -> None:
        """Close every sink (completes open JSON Lines files, drops connections)."""
        async with self._guard:
            running, self._running = list(self._running.values()), {}
        for item in running:
            try:
                await asyncio.to_thread(item.close)
            except Exception as exc:
                _log.warning("stream %s: close failed: %s", item.spec.id, exc)
