"""A TCP proxy on loopback that a test owns, to make a database outage without touching the
shared database server: put it between the store and PostgreSQL, then cut the connections
through it, refuse new ones, or restore it.

Threads and blocking sockets: one accept loop, two pumps per connection. Every upstream
socket's local port is remembered, so the test can find exactly the PostgreSQL backends that
serve connections through this proxy (``pg_stat_activity.client_port``) and terminate those,
never anybody else's.
"""

from __future__ import annotations

import contextlib
import socket
import threading


class TcpProxy:
    """Forwards ``127.0.0.1:port`` to ``upstream``; :meth:`cut`, :meth:`refuse`, :meth:`restore`."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._listener: socket.socket | None = None
        self.port = 0
        self._listen()

    # ----------------------------------------------------------------------------- control

    def cut(self) -> None:
        """Drop every connection through the proxy (new ones are still accepted)."""
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            for sock in pair:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

    def refuse(self) -> None:
        """Stop listening (new connections are refused) and drop the open ones."""
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        self.cut()

    def restore(self) -> None:
        """Listen again on the same port."""
        if self._listener is None:
            self._listen()

    def upstream_ports(self) -> list[int]:
        """Local ports of the proxy's connections to the upstream (the backends' client ports)."""
        with self._lock:
            return [up.getsockname()[1] for _, up in self._pairs if up.fileno() >= 0]

    def close(self) -> None:
        self.refuse()

    # ----------------------------------------------------------------------------- internals

    def _listen(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._pairs.append((client, upstream))
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        for sock in (source, target):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
