"""The JetStream side of the log: connect, make or check the stream, append, read.

Appends are pipelined: every message of an ingest is written to the connection at once, each
with its own reply subject under one inbox, and the call returns when every acknowledgement is
in (in a cluster JetStream acknowledges after the stream's quorum stored it). Messages of one
connection reach the stream in the order they were written, so a device's items keep their order.

Reads use ephemeral pull consumers with ``no_wait`` fetches (a read returns what the stream holds
now, it never lingers); the caller keeps a reader per cursor (``reading.Tails``) so a consumer
reading batch after batch costs one request per batch. The stream sequence and the number of
messages still pending come with every message (its reply subject), which is what lag is
measured from.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import nats
import orjson
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import NotFoundError

from tidings.storage.jetstream.config import (
    LAYOUT,
    LogConfigMismatch,
    LogUrl,
    described_layout,
)
from tidings.storage.records import StoreUnavailable

_log = logging.getLogger("tidings.storage.jetstream")

Outgoing = tuple[str, str, bytes]
"""``(subject, message id, body)`` of one message to append."""


class AppendError(StoreUnavailable):
    """JetStream did not acknowledge an append (no stream, no quorum, timeout)."""


async def connect(log: LogUrl, *, name: str = "tidings") -> Client:
    """Connect to the log's servers; a cluster that cannot be reached is one clear error."""
    # nats-py retries a first connect until a server was tried ``max_reconnect_attempts``
    # times, so that is small while connecting (an unreachable log is an error at once) and
    # unbounded once connected (a node restart must not end the process's connection).
    try:
        nc = await nats.connect(
            servers=list(log.servers),
            name=name,
            connect_timeout=3,
            max_reconnect_attempts=2,
            reconnect_time_wait=0.5,
            allow_reconnect=True,
            error_cb=_log_error,
        )
    except Exception as exc:  # the client raises a handful of types for "unreachable"
        raise StoreUnavailable(
            f"cannot reach the event log at {log.display()}: {type(exc).__name__}: {exc}"
        ) from exc
    nc.options["max_reconnect_attempts"] = -1
    return nc


async def _log_error(exc: Exception) -> None:
    _log.warning("event log connection: %s: %s", type(exc).__name__, exc)


def cluster_size(nc: Client) -> int:
    """How many servers the cluster has, as the server we talk to announces them."""
    urls = nc._server_info.get("connect_urls") or []
    return max(1, len(set(urls)))


async def ensure_stream(nc: Client, log: LogUrl, *, create: bool = True) -> str:
    """Make the stream, or check and update the one there; returns ``created``, ``updated`` or
    ``unchanged``. A stream with another partition count or subject prefix, or one Tidings did
    not make, raises :class:`LogConfigMismatch`; with ``create=False`` a missing one does too."""
    js = nc.jetstream()
    replicas = log.replicas or min(3, cluster_size(nc))
    wanted = StreamConfig(
        name=log.stream,
        description=log.description(),
        subjects=[f"{log.prefix}.>"],
        storage=StorageType.FILE,
        num_replicas=replicas,
        duplicate_window=log.dedup_seconds,
        max_age=log.max_age_seconds,
    )
    try:
        info = await js.stream_info(log.stream)
    except NotFoundError:
        if not create:
            raise LogConfigMismatch(
                f"no stream {log.stream} on {log.display()} (tidings migrate --log creates it)"
            ) from None
        await js.add_stream(wanted)
        return "created"
    layout = described_layout(info.config.description)
    if layout is None:
        raise LogConfigMismatch(f"stream {log.stream} exists but was not made by tidings")
    partitions, prefix, version = layout
    if version != LAYOUT:
        raise LogConfigMismatch(
            f"stream {log.stream} holds messages of layout {version}, this version of tidings"
            f" writes layout {LAYOUT} (use a new stream= name; docs/scale-out.md: growing)"
        )
    if partitions != log.partitions:
        raise LogConfigMismatch(
            f"stream {log.stream} has {partitions} partitions, this process is configured with"
            f" {log.partitions} (set ?partitions={partitions}; docs/scale-out.md: growing)"
        )
    if prefix != log.prefix:
        raise LogConfigMismatch(
            f"stream {log.stream} uses subjects {prefix}.>, this process {log.prefix}.>"
        )
    have = info.config
    same = (
        have.duplicate_window == wanted.duplicate_window
        and have.max_age == wanted.max_age
        and (log.replicas is None or have.num_replicas == log.replicas)
    )
    if same or not create:
        return "unchanged"
    wanted.num_replicas = log.replicas or have.num_replicas
    await js.update_stream(wanted)
    return "updated"


class Appender:
    """Pipelined publishing with acknowledgements on one inbox subscription."""

    def __init__(self, nc: Client, timeout: float = 10.0) -> None:
        self._nc = nc
        self._timeout = timeout
        self._inbox = nc.new_inbox()
        self._counter = itertools.count()
        self._futures: dict[str, asyncio.Future[Msg]] = {}
        self._sub: Subscription | None = None

    async def start(self) -> None:
        self._sub = await self._nc.subscribe(f"{self._inbox}.*", cb=self._on_ack)

    async def _on_ack(self, msg: Msg) -> None:
        future = self._futures.pop(msg.subject.rpartition(".")[2], None)
        if future is not None and not future.done():
            future.set_result(msg)

    async def append(self, messages: Sequence[Outgoing]) -> list[tuple[int, bool]]:
        """Append in order; returns ``(stream sequence, duplicate)`` per message. Raises
        :class:`AppendError` unless every message was acknowledged."""
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[Msg]] = []
        tokens: list[str] = []
        try:
            for subject, msg_id, body in messages:
                token = str(next(self._counter))
                future: asyncio.Future[Msg] = loop.create_future()
                self._futures[token] = future
                futures.append(future)
                tokens.append(token)
                await self._nc.publish(
                    subject, body, reply=f"{self._inbox}.{token}", headers={"Nats-Msg-Id": msg_id}
                )
            await self._nc.flush(int(self._timeout))
            acks = await asyncio.wait_for(asyncio.gather(*futures), self._timeout)
        except (TimeoutError, nats.errors.Error) as exc:
            raise AppendError(f"the event log did not acknowledge the append: {exc!r}") from exc
        finally:
            for token in tokens:
                self._futures.pop(token, None)
        out: list[tuple[int, bool]] = []
        for ack in acks:
            if ack.headers and ack.headers.get("Status") == "503":
                raise AppendError("the event log stream is missing (no responders)")
            answer: dict[str, Any] = orjson.loads(ack.data) if ack.data else {}
            if "error" in answer or "seq" not in answer:
                raise AppendError(f"the event log refused the append: {answer.get('error')}")
            out.append((int(answer["seq"]), bool(answer.get("duplicate", False))))
        return out


@dataclass(slots=True)
class Fetched:
    """One read: the messages (with their stream sequences) and how many more wait."""

    messages: list[tuple[int, bytes]]
    pending: int


class Reader:
    """An ephemeral pull consumer over one subject filter, starting at one stream sequence."""

    def __init__(self, nc: Client, js: JetStreamContext, stream: str, filter_subject: str) -> None:
        self._nc = nc
        self._js = js
        self._stream = stream
        self._filter = filter_subject
        self._name = ""
        self._sub: Subscription | None = None
        self.next_seq = 0
        """The stream sequence the next message read will be at or after."""

    async def open(self, start_seq: int) -> None:
        config = ConsumerConfig(
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=max(1, start_seq),
            ack_policy=AckPolicy.NONE,
            filter_subject=self._filter,
            inactive_threshold=60.0,
            mem_storage=True,
        )
        info = await self._js.add_consumer(self._stream, config)
        self._name = info.name
        self._sub = await self._nc.subscribe(self._nc.new_inbox())
        self.next_seq = max(1, start_seq)

    async def fetch(self, limit: int, timeout: float = 10.0) -> Fetched:
        assert self._sub is not None
        request = orjson.dumps({"batch": limit, "no_wait": True})
        await self._nc.publish(
            f"$JS.API.CONSUMER.MSG.NEXT.{self._stream}.{self._name}",
            request,
            reply=self._sub.subject,
        )
        out: list[tuple[int, bytes]] = []
        pending = 0
        while len(out) < limit:
            msg = await self._sub.next_msg(timeout)
            status = msg.headers.get("Status") if msg.headers else None
            if status is not None:
                if status in ("404", "408"):
                    pending = 0
                    break
                raise AppendError(f"reading the event log failed: status {status}")
            tokens = msg.reply.split(".")
            seq = int(tokens[5])
            pending = int(tokens[8])
            out.append((seq, msg.data))
        if out:
            self.next_seq = out[-1][0] + 1
        return Fetched(out, pending)

    async def close(self) -> None:
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()
        if self._name:
            with contextlib.suppress(Exception):
                await self._js.delete_consumer(self._stream, self._name)


class Readers:
    """Opens readers over the stream: kept ones (the caller closes them) and one-off ones."""

    def __init__(self, nc: Client, stream: str) -> None:
        self._nc = nc
        self._js = nc.jetstream()
        self._stream = stream

    async def open(self, filter_subject: str, start_seq: int) -> Reader:
        """A reader of the messages matching the filter from stream sequence ``start_seq``."""
        reader = Reader(self._nc, self._js, self._stream, filter_subject)
        await reader.open(start_seq)
        return reader

    async def scan(self, filter_subject: str, after_seq: int, limit: int) -> Fetched:
        """A one-off read (replays, status): its reader is not kept."""
        reader = Reader(self._nc, self._js, self._stream, filter_subject)
        await reader.open(after_seq + 1)
        try:
            return await reader.fetch(limit)
        finally:
            await reader.close()

    async def pending(self, filter_subject: str, after_seq: int) -> int:
        """How many messages matching the filter are stored after ``after_seq``."""
        config = ConsumerConfig(
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=after_seq + 1,
            ack_policy=AckPolicy.NONE,
            filter_subject=filter_subject,
            inactive_threshold=10.0,
            mem_storage=True,
        )
        info = await self._js.add_consumer(self._stream, config)
        try:
            return int(info.num_pending or 0)
        finally:
            with contextlib.suppress(Exception):
                await self._js.delete_consumer(self._stream, info.name)
