"""Event-log consumers: a runner feeding named cursors with leases across processes, the one
delivery pipeline for every destination kind, the configured stream sinks, and their wiring."""

from tidings.pipeline.runner import (
    Consumer,
    ConsumerStatus,
    Handler,
    PipelineRunner,
    Provider,
    Service,
    ServiceContext,
)
from tidings.pipeline.wiring import Pipeline, PipelineSettings, build_pipeline, start_pipeline

__all__ = [
    "Consumer",
    "ConsumerStatus",
    "Handler",
    "Pipeline",
    "PipelineRunner",
    "PipelineSettings",
    "Provider",
    "Service",
    "ServiceContext",
    "build_pipeline",
    "start_pipeline",
]
