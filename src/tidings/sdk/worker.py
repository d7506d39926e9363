"""The one background thread: user callbacks, config fetches, uploads and gate deadlines.

The caller's threads never run user code or wait for the network; they append a task and, when
something is due, set the wake event. The worker drains tasks first (callbacks are what the app
sees soonest), then lets the client do its periodic work, then sleeps until the next deadline.
An exception in a task is logged and contained: one bad listener never stops uploads.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable

log = logging.getLogger("tidings.sdk")

Task = Callable[[], object]


class Worker:
    """A daemon thread running tasks and a periodic ``tick`` that returns its next wait."""

    def __init__(self, tick: Callable[[], float | None], name: str = "tidings-worker") -> None:
        self._tick = tick
        self._name = name
        self._tasks: deque[Task] = deque()
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stopping = False
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
        self._thread.start()

    def reset_after_fork(self) -> None:
        """In a forked child the thread is gone; keep queued tasks and start a new one."""
        self._thread = None
        self.start()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def is_current(self) -> bool:
        return self._thread is not None and threading.current_thread() is self._thread

    def submit(self, task: Task) -> None:
        self._tasks.append(task)
        self._wake.set()

    def post(self, task: Task) -> None:
        """Queue without waking (the next wake will run it); for the cheap path of ``track``."""
        self._tasks.append(task)

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float | None = None) -> None:
        self._stopping = True
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def run_pending(self) -> None:
        """Run every queued task now (on the worker, or on any thread once it has stopped)."""
        tasks = self._tasks
        while tasks:
            try:
                task = tasks.popleft()
            except IndexError:
                return
            try:
                task()
            except Exception:
                log.exception("sdk: a callback raised; it was ignored")

    def _loop(self) -> None:
        while not self._stopping:
            self.run_pending()
            try:
                wait = self._tick()
            except Exception:
                log.exception("sdk: background work failed; retrying shortly")
                wait = 1.0
            if self._tasks:
                continue
            self._wake.wait(wait)
            self._wake.clear()
        self.run_pending()
