"""One delivery pipeline for every destination kind (Amplitude, Amplitude-Currents, webhook...).

The kind says how log records become items and how items are sent
(:class:`tidings.destinations.kind.DestinationKind`); everything else is here, the same for
every kind: instances (configuration documents), the log consumer that sends large batches
itself and queues only what must wait, the outbox sender with per-device (else per-user) order,
backoff, dead letters with their reasons, retry and discard, replay of a time range, pause and
resume, leases so that one process at a time drives each consumer and sender.
"""

from tidings.pipeline.delivery.consumer import enqueue_records, work_for_records
from tidings.pipeline.delivery.deadletters import dead_letters, discard, forget, pending, retry
from tidings.pipeline.delivery.direct import DirectOptions
from tidings.pipeline.delivery.enqueue import RenderedItem, enqueue_rendered
from tidings.pipeline.delivery.instances import (
    COLLECTION,
    Instance,
    create_instance,
    create_instance_for_apps,
    cursor_name,
    delete_instance,
    get_instance,
    list_instances,
    replace_instance,
    sender_lease,
    set_paused,
    update_instance,
    validate_body,
)
from tidings.pipeline.delivery.mapping import map_records
from tidings.pipeline.delivery.outbox import InstanceSender, SenderOptions
from tidings.pipeline.delivery.replay import (
    REPLAYS,
    ReplayProgress,
    parse_time_bound,
    replay,
    request_replay,
    run_pending_replays,
)
from tidings.pipeline.delivery.service import Deliveries

__all__ = [
    "COLLECTION",
    "REPLAYS",
    "Deliveries",
    "DirectOptions",
    "Instance",
    "InstanceSender",
    "RenderedItem",
    "ReplayProgress",
    "SenderOptions",
    "create_instance",
    "create_instance_for_apps",
    "cursor_name",
    "dead_letters",
    "delete_instance",
    "discard",
    "enqueue_records",
    "enqueue_rendered",
    "forget",
    "get_instance",
    "list_instances",
    "map_records",
    "parse_time_bound",
    "pending",
    "replace_instance",
    "replay",
    "request_replay",
    "retry",
    "run_pending_replays",
    "sender_lease",
    "set_paused",
    "update_instance",
    "validate_body",
    "work_for_records",
]
