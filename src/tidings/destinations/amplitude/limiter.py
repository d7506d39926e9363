"""A client-side limiter that keeps each device and user under Amplitude's events-per-second limit.

Amplitude counts events per ``device_id`` and per ``user_id`` over a recent window and answers 429
past 30 events/s on ``/2/httpapi``. A token bucket refilled continuously would let a burst of 30
pass and then 30 more within the same second (60 in one window), which is exactly what draws
429s; so this is a sliding window instead: at most ``per_second`` admissions per id in any
1000 ms. 429s then stay the exception. Pure: time is a parameter.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

HTTPAPI_EPS = 30
BATCH_EPS = 1000
WINDOW_MS = 1000


@dataclass(slots=True)
class RateLimiter:
    """``admit(ids, now_ms)`` counts one event against every id or none, returning the wait in
    ms (0 when admitted) until every id has room again."""

    per_second: int = HTTPAPI_EPS
    max_ids: int = 100_000
    _windows: dict[str, deque[int]] = field(default_factory=dict)

    def _window(self, key: str, now_ms: int) -> deque[int]:
        window = self._windows.get(key)
        if window is None:
            if len(self._windows) >= self.max_ids:
                self._forget_idle(now_ms)
            window = self._windows[key] = deque()
        while window and window[0] <= now_ms - WINDOW_MS:
            window.popleft()
        return window

    def _forget_idle(self, now_ms: int) -> None:
        """Drop ids with nothing in the current window (they constrain nothing)."""
        idle = [k for k, w in self._windows.items() if not w or w[-1] <= now_ms - WINDOW_MS]
        for key in idle:
            del self._windows[key]

    def admit(self, ids: tuple[str | None, ...], now_ms: int) -> int:
        """0 when admitted (counted for every id); otherwise the ms until every id has room."""
        if len(ids) == 1 and ids[0]:
            return self._admit_one(ids[0], now_ms)
        windows = [self._window(k, now_ms) for k in ids if k]
        limit = self.per_second
        for window in windows:
            if len(window) >= limit:
                full = [w for w in windows if len(w) >= limit]
                return max(max(1, w[0] + WINDOW_MS - now_ms) for w in full)
        for window in windows:
            window.append(now_ms)
        return 0

    def _admit_one(self, key: str, now_ms: int) -> int:
        """:meth:`admit` for one id (an event with a device id only: most of them), without the
        lists the general case builds."""
        window = self._window(key, now_ms)
        if len(window) >= self.per_second:
            return max(1, window[0] + WINDOW_MS - now_ms)
        window.append(now_ms)
        return 0
