"""Configured stream sinks on the pipeline: one consumer per enabled sink, and housekeeping.

The sinks are documents of the ``streams`` collection (checked by
:func:`tidings.streams.check_sink`); :class:`~tidings.streams.ConfiguredStreams` builds and
keeps them open. The pipeline asks :meth:`SinkConsumers.consumers` every few seconds which
sinks are enabled and feeds each one from its own cursor (``stream:<sink id>``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tidings.pipeline.runner import Consumer, ServiceContext
from tidings.storage import Store
from tidings.streams.configured import ConfiguredStreams
from tidings.streams.sinkconfig import cursor_name

MAINTAIN_SECONDS = 1.0


class SinkConsumers:
    """The running sinks of one store (one set per pipeline, shared by its consumers)."""

    def __init__(self, store: Store) -> None:
        self.streams = ConfiguredStreams(store)

    def _consumer(self, sink_id: str) -> Consumer:
        streams = self.streams

        async def handle(rows: Sequence[Any]) -> None:
            await streams.handle(sink_id, rows)

        return Consumer(cursor_name(sink_id), handle, batch_size=500, start_at_end=True)

    async def consumers(self, _store: Store) -> list[Consumer]:
        """A pipeline provider: one consumer per enabled sink, on the sink's own cursor."""
        return [self._consumer(spec.id) for spec in await self.streams.refresh()]

    async def housekeeping(self, _store: Store, ctx: ServiceContext) -> None:
        """Rotate JSON Lines files by age while no records come; close every sink on stop."""
        try:
            while not await ctx.sleep(MAINTAIN_SECONDS):
                await self.streams.maintain()
        finally:
            await self.streams.close()
