"""Bounded connections: read deadlines, an idle timeout, a connection limit, the fd limit.

uvicorn closes a keep-alive connection that stays idle after a response, but nothing else: a
socket that never sends a byte, or sends its headers a line every few seconds, stays open for
ever, and enough of them exhaust the process's file descriptors until even ``/healthz`` cannot
be accepted. :func:`protocol_class` makes uvicorn's httptools protocol enforce
:class:`ConnectionLimits`:

- the request head (request line and headers) must be complete ``header_timeout_s`` after the
  connection opened, or after the first byte of a later request on a kept-alive connection; a
  connection that sent part of a head is answered 408, one that sent nothing is closed;
- the body must be complete ``body_timeout_s`` after its head;
- between requests a connection may idle for ``idle_timeout_s`` (uvicorn's keep-alive timeout);
- past ``max_connections`` open connections a new one is answered 503 with ``Retry-After`` at
  once and closed a second later (time for the client to read the answer), having cost
  nothing but its socket.

:func:`raise_fd_limit` lifts the soft limit on open files to the hard limit at start, and
:func:`connection_cap` keeps the connection limit below what the process can open.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tidings.server.errors import RETRY_AFTER_SECONDS, error_body

if TYPE_CHECKING:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger("tidings.server")

FD_RESERVE = 256
"""File descriptors kept free of connections: database files and connections, sink files and
sockets, logs."""
REFUSED_LINGER_S = 1.0
"""How long a connection refused past the limit is kept to read its request before closing."""


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """How long a client may take and how many may connect at once (docs/reliability.md)."""

    header_timeout_s: float = 10.0
    body_timeout_s: float = 60.0
    idle_timeout_s: float = 5.0
    max_connections: int = 10_000


def _response(status: bytes, code: str, message: str, extra: bytes = b"") -> bytes:
    body = error_body(code, message)
    return (
        b"HTTP/1.1 " + status + b"\r\ncontent-type: application/json\r\n"
        b"content-length: "
        + str(len(body)).encode("ascii")
        + b"\r\n"
        + extra
        + b"connection: close\r\n\r\n"
        + body
    )


def protocol_class(limits: ConnectionLimits) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol with ``limits`` enforced (pass as ``uvicorn.Config(http=)``)."""
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    busy = _response(
        b"503 Service Unavailable",
        "too_many_connections",
        f"connection: the server holds its limit of {limits.max_connections} connections; "
        "retry later",
        b"retry-after: " + str(RETRY_AFTER_SECONDS).encode("ascii") + b"\r\n",
    )
    slow_head = _response(
        b"408 Request Timeout",
        "request_timeout",
        f"request: headers not complete within {limits.header_timeout_s:g} s",
    )

    class BoundedProtocol(HttpToolsProtocol):
        """One connection, closed when it is too slow, or refused when there are too many."""

        _deadline: asyncio.TimerHandle | None = None
        _head_started = False
        _in_head = False
        _in_body = False
        _refused = False

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            # uvicorn annotates its keep-alive timeout as int; it only hands it to call_later.
            self.timeout_keep_alive = limits.idle_timeout_s  # type: ignore[assignment]

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            if len(self.connections) > limits.max_connections:
                # Answer at once, then let the client's request arrive before closing: closing
                # a socket with unread data resets it, and the client might never see the 503.
                self.connections.discard(self)
                self._refused = True
                transport.write(busy)
                self._arm(REFUSED_LINGER_S, transport.close)
                return
            self._arm(limits.header_timeout_s, self._head_timed_out)

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self._refused:
                return
            super().data_received(data)
            # A deadline is armed only for a head or a body that did not come whole in this
            # chunk: the usual request, sent in one piece, costs no timer at all. (The first
            # head of a connection is timed from the connection's start.)
            if self._deadline is None:
                if self._in_head:
                    self._arm(limits.header_timeout_s, self._head_timed_out)
                elif self._in_body:
                    self._arm(limits.body_timeout_s, self._body_timed_out)

        def on_message_begin(self) -> None:
            self._in_head = self._head_started = True
            super().on_message_begin()

        def on_headers_complete(self) -> None:
            self._in_head = False
            self._disarm()
            self._in_body = True
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            self._in_body = False
            self._disarm()
            super().on_message_complete()

        def _arm(self, seconds: float, callback: Any) -> None:
            self._disarm()
            self._deadline = self.loop.call_later(seconds, callback)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _head_timed_out(self) -> None:
            self._deadline = None
            if self.transport.is_closing():
                return
            if self._head_started:
                self.transport.write(slow_head)
            self.transport.close()

        def _body_timed_out(self) -> None:
            # The handler, if it is still reading, sees a disconnect and gives up quietly.
            self._deadline = None
            if not self.transport.is_closing():
                self.transport.close()

    return BoundedProtocol


def raise_fd_limit() -> int:
    """Lift the soft limit on open files to the hard limit where the system allows; returns the
    soft limit in force afterwards (0 where the platform has no such limit)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not on POSIX
        return 0
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError) as exc:
            log.warning("could not raise the open-files limit from %d to %d: %s", soft, wanted, exc)
    return int(soft) if soft != resource.RLIM_INFINITY else 1 << 30


def connection_cap(limits: ConnectionLimits, fd_limit: int) -> ConnectionLimits:
    """``limits`` with ``max_connections`` lowered to fit ``fd_limit`` (0: no limit known)."""
    if fd_limit <= 0 or limits.max_connections <= fd_limit - FD_RESERVE:
        return limits
    fitted = max(1, fd_limit - FD_RESERVE)
    log.warning(
        "open-files limit is %d: accepting at most %d connections instead of %d",
        fd_limit,
        fitted,
        limits.max_connections,
    )
    return ConnectionLimits(
        limits.header_timeout_s, limits.body_timeout_s, limits.idle_timeout_s, fitted
    )


def run_server(  # noqa: PLR0917 - one parameter per serve option
    app: Any,
    host: str,
    port: int,
    limits: ConnectionLimits,
    log_level: str = "info",
    access_log: bool = True,
) -> None:
    """Serve ``app`` with uvicorn (httptools) under ``limits``, after raising the fd limit."""
    import uvicorn

    fitted = connection_cap(limits, raise_fd_limit())
    uvicorn.run(
        app,
        host=host,
        port=port,
        http=protocol_class(fitted),
        log_level=log_level,
        access_log=access_log,
        proxy_headers=False,
        server_header=False,
        date_header=False,
    )
