"""Event-log consumers: a runner feeding named cursors, with leases across processes."""

from tidings.pipeline.base import (
    Consumer,
    ConsumerStatus,
    Handler,
    PipelineRunner,
    Provider,
    Service,
    ServiceContext,
    register_consumer,
    register_provider,
    register_service,
    registered,
)
from tidings.pipeline.runtime import load_builtin, start_pipeline

__all__ = [
    "Consumer",
    "ConsumerStatus",
    "Handler",
    "PipelineRunner",
    "Provider",
    "Service",
    "ServiceContext",
    "load_builtin",
    "register_consumer",
    "register_provider",
    "register_service",
    "registered",
    "start_pipeline",
]
