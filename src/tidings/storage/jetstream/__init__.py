"""The event log on NATS JetStream (``--log nats://...``) beside a SQL control plane."""

from tidings.storage.jetstream.admission import AdmittingJetStreamStore
from tidings.storage.jetstream.config import LogConfigMismatch, LogUrl, parse_log_url
from tidings.storage.jetstream.store import JetStreamStore

__all__ = [
    "AdmittingJetStreamStore",
    "JetStreamStore",
    "LogConfigMismatch",
    "LogUrl",
    "parse_log_url",
]
