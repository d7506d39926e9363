"""Explicit wiring: :func:`build_pipeline` lists every consumer, provider and service.

Nothing registers itself by being imported and nothing scans packages: what ``tidings serve``
and ``tidings worker`` run is the list below, and the objects that keep state between batches
(parsed destinations, open sinks, senders) belong to the pipeline built here, not to modules.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tidings.pipeline.campaigns import ServerCampaigns
from tidings.pipeline.campaigns.consumer import DEFAULT_CACHE_SIZE
from tidings.pipeline.conversions import ConversionAttribution
from tidings.pipeline.counting import Counting
from tidings.pipeline.delivery import Deliveries, SenderOptions
from tidings.pipeline.runner import PipelineRunner
from tidings.pipeline.streams import SinkConsumers
from tidings.storage import CatalogLimits, Store


@dataclass(frozen=True, slots=True)
class PipelineSettings:
    """How a process runs the pipeline: leases, idle wait, and delivery tuning."""

    lease_ms: int = 15_000
    idle_seconds: float = 1.0
    delivery: SenderOptions = field(default_factory=SenderOptions)
    identity_cache: int = DEFAULT_CACHE_SIZE
    """Persons whose server-campaign state is kept in memory (the rest is read when needed)."""
    catalog_limits: CatalogLimits = field(default_factory=CatalogLimits)
    """The catalogs' bounds where the counting consumer keeps them (a JetStream log): the same
    as the servers' ingest applies."""


@dataclass(slots=True)
class Pipeline:
    """A built pipeline: the runner and the parts it drives."""

    runner: PipelineRunner
    deliveries: Deliveries
    sinks: SinkConsumers
    campaigns: ServerCampaigns
    conversions: ConversionAttribution

    async def start(self) -> None:
        await self.runner.start()

    async def stop(self) -> None:
        await self.runner.stop()
        self.deliveries.close()


def build_pipeline(store: Store, settings: PipelineSettings | None = None) -> Pipeline:
    """The pipeline of one process on ``store``: server-side campaigns (one evaluating
    consumer), conversion attribution, destinations (a consumer per enabled instance, a sender
    per active one), configured stream sinks (a consumer per enabled sink, plus their
    housekeeping) and, where appends do not count themselves (a JetStream log), the counting
    consumer that keeps the catalogs and campaign stats.

    On a partitioned log every consumer runs per partition; server-side campaigns and
    attribution commit each partition's state with that partition's cursor, and the store
    writes their results into its own log (docs/scale-out.md, "Decisions")."""
    settings = settings or PipelineSettings()
    deliveries = Deliveries(settings.delivery)
    sinks = SinkConsumers(store)
    campaigns = ServerCampaigns(cache_size=settings.identity_cache, on_enqueued=deliveries.wake)
    conversions = ConversionAttribution(store)
    runner = PipelineRunner(
        store,
        consumers=[campaigns.consumer(store), conversions.consumer()],
        providers=[
            deliveries.consumers,
            sinks.consumers,
            Counting(store, settings.catalog_limits).consumers,
        ],
        services={"destinations": deliveries.service, "streams-housekeeping": sinks.housekeeping},
        lease_ms=settings.lease_ms,
        idle_seconds=settings.idle_seconds,
    )
    return Pipeline(runner, deliveries, sinks, campaigns, conversions)


async def start_pipeline(store: Store, settings: PipelineSettings | None = None) -> Pipeline:
    """Build the pipeline and start it in the background (the caller stops it)."""
    pipeline = build_pipeline(store, settings)
    await pipeline.start()
    return pipeline
