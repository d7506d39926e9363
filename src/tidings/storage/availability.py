"""Whether the database is serving, as the engine last saw it, logged once per change.

When the database goes away (connection lost or refused, disk full, read-only file system,
lock timeout) every request fails the same way. Logging each failure would bury the one fact
an operator needs under thousands of identical tracebacks, so the engine reports every outcome
here and only a change of state is logged: one line when writes start failing (with the
reason), one when they work again. ``/healthz`` reads the same state, so it turns 503 with the
first failed write and back to 200 with the first write that succeeds.
"""

from __future__ import annotations

import logging
import threading

log = logging.getLogger("tidings.storage")


class Availability:
    """The last outcome of writes and of reads: ``None`` when they worked, else the reason."""

    __slots__ = ("_lock", "_name", "read_failure", "write_failure")

    def __init__(self, name: str) -> None:
        self._name = name
        self._lock = threading.Lock()
        self.write_failure: str | None = None
        self.read_failure: str | None = None

    def wrote(self, failure: str | None) -> None:
        """A write group finished: ``failure`` is why the database refused it, or ``None``."""
        with self._lock:
            before, self.write_failure = self.write_failure, failure
        self._log_change("writes", before, failure)

    def read(self, failure: str | None) -> None:
        """A read finished: ``failure`` is why the database refused it, or ``None``."""
        with self._lock:
            before, self.read_failure = self.read_failure, failure
        self._log_change("reads", before, failure)

    def _log_change(self, what: str, before: str | None, now: str | None) -> None:
        if (before is None) == (now is None):
            return
        if now is not None:
            log.error("%s: %s failing, answering 503 until they work: %s", self._name, what, now)
        else:
            log.warning("%s: %s work again (failed for %s)", self._name, what, before)
