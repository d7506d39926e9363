"""Pinpoint-format stream records and the sinks that carry them (docs/spec/stream.md).

Records are built by pure functions in :mod:`tidings.streams.records`; sinks (JSON Lines files,
HTTP webhook, NATS JetStream) take batches of records and are driven by a cursor loop that stores
its position only after a batch is delivered: at least once, never a gap.
"""

from tidings.streams.configured import ConfiguredStreams
from tidings.streams.consumer import ConsumerStats, CursorLog, StreamConsumer
from tidings.streams.context import SessionSpan, StreamContext
from tidings.streams.fromlog import records_from_payload, records_from_row
from tidings.streams.jsonl import JsonlSink
from tidings.streams.nats import NatsSink
from tidings.streams.records import (
    app_event_records,
    decision_record,
    event_from_json,
    split_properties,
)
from tidings.streams.sink import (
    FilePosition,
    ListSource,
    PositionStore,
    RecordSource,
    Sink,
    SinkRunner,
    SinkUnavailableError,
    StreamError,
)
from tidings.streams.sinkconfig import SinkSpec, build_sink, check_sink
from tidings.streams.webhook import RetryPolicy, WebhookSink

__all__ = [
    "ConfiguredStreams",
    "ConsumerStats",
    "CursorLog",
    "FilePosition",
    "JsonlSink",
    "ListSource",
    "NatsSink",
    "PositionStore",
    "RecordSource",
    "RetryPolicy",
    "SessionSpan",
    "Sink",
    "SinkRunner",
    "SinkSpec",
    "SinkUnavailableError",
    "StreamConsumer",
    "StreamContext",
    "StreamError",
    "WebhookSink",
    "app_event_records",
    "build_sink",
    "check_sink",
    "decision_record",
    "event_from_json",
    "records_from_payload",
    "records_from_row",
    "split_properties",
]
