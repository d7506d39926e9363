"""The store's own clock: epoch milliseconds for ``createdAt``, ``revoked_at``, due times..."""

from __future__ import annotations

import threading
import time

_clock_lock = threading.Lock()
_last_ms = 0


def now_ms() -> int:
    """Epoch milliseconds for the store's own timestamps (createdAt, revoked_at...).

    Strictly increasing within a process: two campaigns (or keys, apps...) created in the same
    millisecond still get distinct ``createdAt`` values, so "oldest first" listings and the
    "earliest created wins" campaign tie-break are total orders, not coin flips.
    """
    global _last_ms  # noqa: PLW0603 - one process-wide clock is the point
    with _clock_lock:
        _last_ms = max(int(time.time() * 1000), _last_ms + 1)
        return _last_ms


def wall_ms() -> int:
    """Epoch milliseconds as the wall clock says, for due times: "due now" must be due for a
    sender reading the wall clock in the same millisecond, which :func:`now_ms` (kept strictly
    increasing, so possibly a little ahead under bursts) does not promise."""
    return int(time.time() * 1000)
