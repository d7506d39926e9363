"""The events catalog's limit at ingest on a JetStream log: new names refused as on SQL.

On a SQL log, ingest refuses (does not store, and reports in ``IngestOutcome.refused``) every
event whose custom name would take the app's events catalog past
:attr:`~tidings.storage.CatalogLimits.event_names`, inside the append's transaction. On
JetStream the catalog is written afterwards by the counting consumer
(:mod:`tidings.pipeline.counting`), so :class:`AdmittingJetStreamStore` checks an upload's new
names against the catalog as counted so far, before the append, and hands the append only the
events it admits: the uploader gets the same per-item ``catalog_full`` rejections as on SQL.

The check reads a catalog that trails the log by the counting consumer's lag, so it is exact
once the catalog is full and counted, and approximate just before: new names arriving in several
uploads while the count is still below the limit may all be stored. The counting consumer then
catalogues only what fits, in log order, and the events of the names left out are not counted;
every later upload of such a name is refused here. The catalog itself never exceeds the limit.

Names known to be in the catalog are remembered per app (names never leave it), so the common
upload, which brings no new name, costs one set difference and no read. An upload with a name
not known costs one count, and the catalog is read again only when that count says it grew since
it was read (a full catalog that a device keeps sending a refused name to costs the count).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from nats.aio.client import Client

from tidings.storage.catalogs import CatalogLimits, refused_indices
from tidings.storage.jetstream.config import LogUrl
from tidings.storage.jetstream.store import JetStreamStore
from tidings.storage.logrecords import (
    DecisionIn,
    EventIn,
    IngestOutcome,
    IngestResult,
    RenderResponse,
    StoredResponse,
)
from tidings.storage.sqlstore import SqlStore

_MAX_CACHED_APPS: Final = 10_000


class AdmittingJetStreamStore(JetStreamStore):
    """A :class:`JetStreamStore` whose ingest refuses new event names past the catalog limit
    first (see the module docstring); the append itself is the parent's, unchanged."""

    def __init__(self, control: SqlStore, nc: Client, log: LogUrl) -> None:
        super().__init__(control, nc, log)
        self._known: dict[str, set[str]] = {}
        """Per app, the custom names of its events catalog when last read (names never leave
        it)."""

    async def _read_names(self, app_id: str) -> set[str]:
        entries = await self.control.event_catalog(app_id)
        known = {e.name for e in entries if e.type == "custom"}
        if app_id not in self._known and len(self._known) >= _MAX_CACHED_APPS:
            self._known.clear()
        self._known[app_id] = known
        return known

    async def refused_events(self, app_id: str, events: Sequence[EventIn], limit: int) -> list[int]:
        """Indices of ``events`` whose custom name is new and past ``limit``, by the counted
        catalog; new names are admitted in order of first appearance while there is room."""
        names = list(dict.fromkeys(e.name for e in events if e.type == "custom"))
        if not names:
            return []
        known = self._known.get(app_id)
        if known is None:
            known = await self._read_names(app_id)
        fresh = [name for name in names if name not in known]
        if not fresh:
            return []
        count, _ = await self.control.catalog_sizes(app_id)
        if count != len(known):  # counted more names since it was read
            known = await self._read_names(app_id)
            fresh = [name for name in names if name not in known]
        return refused_indices(events, fresh, limit - len(known))

    async def ingest(
        self,
        app_id: str,
        events: Sequence[EventIn],
        decisions: Sequence[DecisionIn] = (),
        *,
        arrival_ms: int,
        request_id: str | None = None,
        render: RenderResponse | None = None,
        custom_properties: Mapping[str, Any] | None = None,
        catalog_limits: CatalogLimits | None = None,
        request_hash: bytes | None = None,
    ) -> IngestResult:
        limits = catalog_limits or CatalogLimits()
        refused = await self.refused_events(app_id, events, limits.event_names) if events else []
        if not refused:
            return await super().ingest(
                app_id,
                events,
                decisions,
                arrival_ms=arrival_ms,
                request_id=request_id,
                render=render,
                custom_properties=custom_properties,
                catalog_limits=catalog_limits,
                request_hash=request_hash,
            )
        skip = set(refused)
        kept = [e for i, e in enumerate(events) if i not in skip]

        def widened(outcome: IngestOutcome) -> IngestOutcome:
            """The append's outcome over the admitted events, as one over all of them."""
            stored = iter(outcome.events)
            flags = [False if i in skip else next(stored) for i in range(len(events))]
            return IngestOutcome(events=flags, decisions=outcome.decisions, refused=refused)

        def render_all(outcome: IngestOutcome) -> StoredResponse:
            assert render is not None
            return render(widened(outcome))

        result = await super().ingest(
            app_id,
            kept,
            decisions,
            arrival_ms=arrival_ms,
            request_id=request_id,
            render=render_all if render is not None else None,
            custom_properties=custom_properties,
            catalog_limits=catalog_limits,
            request_hash=request_hash,
        )
        if result.outcome is None:
            return result
        return IngestResult(result.response, widened(result.outcome), result.replayed)
