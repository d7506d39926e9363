"""The log URL (``--log`` / ``TIDINGS_LOG``) and the JetStream stream it describes.

``nats://h1:4222,h2:4222,h3:4222?stream=TIDINGS_LOG&partitions=16`` names the servers (any of a
cluster's; the client learns the rest) and the stream. Query parameters:

* ``stream`` (default ``TIDINGS_LOG``) and ``subjects`` (default ``tidings.log``, the subject
  prefix) name where the log lives, so several deployments can share one NATS cluster;
* ``partitions`` (default 16): fixed for the life of the stream (see docs/scale-out.md for how to
  grow): a stream made with another count is a mismatch, refused with a clear error;
* ``replicas`` (default: ``min(3, servers in the cluster)``);
* ``dedup`` — the duplicate window in seconds (default 3600): an upload retried within it is
  stored once; beyond it, consumers' own idempotency (by event id) takes over;
* ``max_age`` — seconds the log keeps records (default 7 days; 0 keeps them forever).

Storage is always ``file``: the log is what the server acknowledged to clients.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from tidings.core.errors import InvalidConfig
from tidings.core.partitions import DEFAULT_PARTITIONS, MAX_PARTITIONS

DEFAULT_STREAM = "TIDINGS_LOG"
DEFAULT_SUBJECTS = "tidings.log"
_NAME = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
_PREFIX = re.compile(r"^[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)*$")
_DESCRIPTION = "tidings event log; partitions={partitions}; subjects={prefix}; layout={layout}"
_DESCRIBED = re.compile(
    r"^tidings event log; partitions=(\d+); subjects=(\S+?)(?:; layout=(\d+))?$"
)
LAYOUT = 2
"""How records are packed into messages (see ``codec``); a stream without one says layout 1."""


class LogConfigMismatch(Exception):
    """The stream exists with settings this process cannot use (partitions, subjects)."""


@dataclass(frozen=True, slots=True)
class LogUrl:
    """A parsed ``--log`` URL."""

    servers: tuple[str, ...]
    stream: str = DEFAULT_STREAM
    prefix: str = DEFAULT_SUBJECTS
    partitions: int = DEFAULT_PARTITIONS
    replicas: int | None = None
    dedup_seconds: float = 3600.0
    max_age_seconds: float = 7 * 86400.0

    def description(self) -> str:
        """The stream's description: where the partition count is kept, to check on open."""
        return _DESCRIPTION.format(partitions=self.partitions, prefix=self.prefix, layout=LAYOUT)

    def display(self) -> str:
        return f"nats://{','.join(s.removeprefix('nats://') for s in self.servers)}/{self.stream}"


def described_layout(description: str | None) -> tuple[int, str, int] | None:
    """``(partitions, subject prefix, message layout)`` from a stream description, or ``None``
    when the stream was not made by Tidings."""
    match = _DESCRIBED.match(description or "")
    if match is None:
        return None
    return int(match.group(1)), match.group(2), int(match.group(3) or 1)


def _number(query: dict[str, str], key: str, default: float, *, low: float, high: float) -> float:
    raw = query.get(key)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise InvalidConfig(f"log.{key}", f"must be a number, got {raw!r}") from None
    if not low <= value <= high:
        raise InvalidConfig(f"log.{key}", f"must be between {low:g} and {high:g}")
    return value


def parse_log_url(url: str) -> LogUrl:
    """Parse a ``nats://`` log URL; anything wrong raises :class:`InvalidConfig` naming it."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("nats", "tls"):
        raise InvalidConfig("log", f"the event log URL must start with nats://, got {url!r}")
    hosts = [h.strip() for h in parts.netloc.split(",") if h.strip()]
    if not hosts:
        raise InvalidConfig("log", "the event log URL names no server: nats://host:4222")
    servers = tuple(f"{parts.scheme.lower()}://{h}" for h in hosts)
    known = {"stream", "subjects", "partitions", "replicas", "dedup", "max_age"}
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    unknown = sorted(set(query) - known)
    if unknown:
        raise InvalidConfig(f"log.{unknown[0]}", f"unknown parameter; known: {sorted(known)}")
    stream = query.get("stream", DEFAULT_STREAM)
    if not _NAME.match(stream):
        raise InvalidConfig("log.stream", "must be 1-64 letters, digits, '_' or '-'")
    prefix = query.get("subjects", DEFAULT_SUBJECTS)
    if not _PREFIX.match(prefix):
        raise InvalidConfig("log.subjects", "must be dot-separated tokens without wildcards")
    partitions = int(_number(query, "partitions", DEFAULT_PARTITIONS, low=1, high=MAX_PARTITIONS))
    replicas_raw = _number(query, "replicas", 0, low=0, high=5)
    return LogUrl(
        servers=servers,
        stream=stream,
        prefix=prefix,
        partitions=partitions,
        replicas=int(replicas_raw) or None,
        dedup_seconds=_number(query, "dedup", 3600.0, low=1, high=7 * 86400),
        max_age_seconds=_number(query, "max_age", 7 * 86400.0, low=0, high=10 * 365 * 86400),
    )
