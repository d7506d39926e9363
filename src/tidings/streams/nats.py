"""NATS JetStream sink: one stream and one subject per app.

Each record is published with the ``Nats-Msg-Id`` header set to its ``event_id``, so JetStream
itself drops a re-delivery that arrives inside the stream's duplicate window (a retried batch, a
restart shortly after a crash); later duplicates still carry the same ``event_id`` for consumers.
A batch counts as delivered only when JetStream acknowledged every message of it.

nats-py is asyncio-only while the sink protocol is synchronous (the cursor loop may run on any
thread, including one that already runs an event loop), so the sink owns a private event loop on
a daemon thread and hands each batch to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
import threading
from collections.abc import Coroutine, Mapping, Sequence
from typing import Any, TypeVar

import nats
import orjson
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig
from nats.js.errors import NotFoundError

from tidings.core.errors import InvalidInput
from tidings.streams.sink import SinkUnavailableError, StreamError

T = TypeVar("T")
_log = logging.getLogger(__name__)
_SAFE_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MSG_ID_HEADER = "Nats-Msg-Id"


def app_token(app_id: str) -> str:
    """A token that is valid in both a stream name and a subject for this app id.

    Ids made of letters, digits, ``-`` and ``_`` are used as they are; anything else (dots,
    spaces, wildcards) becomes a stable hash so two apps can never share a stream.
    """
    if _SAFE_TOKEN.match(app_id):
        return app_id
    return "h" + hashlib.sha256(app_id.encode()).hexdigest()[:24]


class NatsSink:
    """Publish stream records to ``<subject_prefix>.<app>`` in stream ``<stream_prefix>_<app>``."""

    name = "nats"

    def __init__(
        self,
        servers: str | list[str] = "nats://127.0.0.1:4222",
        *,
        stream_prefix: str = "TIDINGS",
        subject_prefix: str = "tidings.stream",
        duplicate_window_seconds: float = 120.0,
        max_age_seconds: float | None = None,
        timeout: float = 10.0,
        connect_options: Mapping[str, Any] | None = None,
    ) -> None:
        if not re.match(r"^[A-Za-z0-9_-]+$", stream_prefix):
            raise InvalidInput("stream_prefix", "may hold only letters, digits, - and _")
        if not re.match(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$", subject_prefix):
            raise InvalidInput("subject_prefix", "must be dot-separated plain tokens")
        self.servers = servers
        self.stream_prefix = stream_prefix
        self.subject_prefix = subject_prefix
        self.duplicate_window_seconds = duplicate_window_seconds
        self.max_age_seconds = max_age_seconds
        self.timeout = timeout
        self.connect_options = dict(connect_options or {})
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._ready: set[str] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="tidings-nats-sink", daemon=True
        )
        self._thread.start()
        self._closed = False

    def stream_name(self, app_id: str) -> str:
        return f"{self.stream_prefix}_{app_token(app_id)}"

    def subject(self, app_id: str) -> str:
        return f"{self.subject_prefix}.{app_token(app_id)}"

    # --- Sink protocol -----------------------------------------------------------------------

    def deliver(self, records: Sequence[Mapping[str, Any]]) -> None:
        if self._closed:
            raise StreamError("nats sink is closed")
        self._run(self._deliver(records), self.timeout * 2 + 5)

    def maintain(self) -> None:
        """Nothing is buffered between calls."""

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._run(self._disconnect(), self.timeout + 5)
        except SinkUnavailableError:
            pass
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
            if not self._thread.is_alive():
                self._loop.close()

    # --- internals ---------------------------------------------------------------------------

    def _run(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(timeout)
        except StreamError:
            raise
        except TimeoutError as exc:
            future.cancel()
            raise SinkUnavailableError(f"nats {self.servers}: timed out") from exc
        except Exception as exc:
            raise SinkUnavailableError(f"nats {self.servers}: {type(exc).__name__}: {exc}") from exc

    async def _connect(self) -> JetStreamContext:
        if self._nc is not None and self._nc.is_connected and self._js is not None:
            return self._js
        if self._nc is not None:
            await self._drop_connection()
        # nats-py retries the initial connect in a loop that only ends once a server was tried
        # more than ``max_reconnect_attempts`` times, so keep that positive and the wait short:
        # an unreachable server must surface as SinkUnavailableError, not hang the loop.
        options: dict[str, Any] = {
            "connect_timeout": self.timeout,
            "max_reconnect_attempts": 2,
            "reconnect_time_wait": 0.5,
            "allow_reconnect": True,
            "error_cb": _log_error,
        }
        options.update(self.connect_options)
        servers = [self.servers] if isinstance(self.servers, str) else list(self.servers)
        self._nc = await nats.connect(servers=servers, **options)
        self._js = self._nc.jetstream(timeout=self.timeout)
        self._ready.clear()
        return self._js

    async def _drop_connection(self) -> None:
        nc, self._nc, self._js = self._nc, None, None
        if nc is not None and not nc.is_closed:
            # A dying connection may fail to close; it is gone either way.
            with contextlib.suppress(Exception):
                await nc.close()

    async def _disconnect(self) -> None:
        nc = self._nc
        if nc is not None and nc.is_connected:
            await nc.drain()
        await self._drop_connection()

    async def _ensure_stream(self, js: JetStreamContext, app_id: str) -> str:
        name = self.stream_name(app_id)
        if name in self._ready:
            return name
        try:
            await js.stream_info(name)
        except NotFoundError:
            config = StreamConfig(
                name=name,
                subjects=[self.subject(app_id)],
                storage=StorageType.FILE,
                duplicate_window=self.duplicate_window_seconds,
                max_age=self.max_age_seconds,
            )
            await js.add_stream(config)
        self._ready.add(name)
        return name

    async def _deliver(self, records: Sequence[Mapping[str, Any]]) -> None:
        try:
            js = await self._connect()
            pending: list[asyncio.Future[Any]] = []
            for record in records:
                app_id = _app_id(record)
                stream = await self._ensure_stream(js, app_id)
                event_id = record.get("event_id")
                headers = (
                    {MSG_ID_HEADER: event_id} if isinstance(event_id, str) and event_id else None
                )
                pending.append(
                    await js.publish_async(
                        self.subject(app_id),
                        orjson.dumps(record),
                        stream=stream,
                        headers=headers,
                    )
                )
            if pending:
                await asyncio.wait_for(asyncio.gather(*pending), self.timeout)
        except StreamError:
            raise
        except Exception as exc:
            # Start from a fresh connection next time; the cursor has not moved.
            await self._drop_connection()
            raise SinkUnavailableError(f"nats {self.servers}: {type(exc).__name__}: {exc}") from exc


async def _log_error(exc: Exception) -> None:
    _log.warning("nats sink: %s: %s", type(exc).__name__, exc)


def _app_id(record: Mapping[str, Any]) -> str:
    application = record.get("application")
    app_id = application.get("app_id") if isinstance(application, Mapping) else None
    if not isinstance(app_id, str) or not app_id:
        raise StreamError("record has no application.app_id")
    return app_id
