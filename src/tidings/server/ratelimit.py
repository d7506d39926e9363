"""Token buckets per key (a device id, a client address), with time passed in.

Each key may spend ``per_minute`` requests in a burst and earns them back at ``per_minute / 60``
per second. The table is bounded: past ``max_keys`` the keys whose buckets are full again (idle
for a minute or more) are forgotten first, and if that is not enough the oldest half goes, so a
flood of new keys costs memory proportional to ``max_keys``, never more.
"""

from __future__ import annotations

import math

DEFAULT_MAX_KEYS = 100_000


class RateLimiter:
    """``admit(key, rate, now)`` is ``None`` when the request may go on, else seconds to wait."""

    __slots__ = ("_buckets", "max_keys")

    def __init__(self, max_keys: int = DEFAULT_MAX_KEYS) -> None:
        self.max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}
        """key -> (tokens left, when they were counted)"""

    def __len__(self) -> int:
        return len(self._buckets)

    def admit(self, key: str, per_minute: int, now: float) -> float | None:
        capacity = float(per_minute)
        refill = per_minute / 60.0
        tokens, at = self._buckets.get(key, (capacity, now))
        tokens = min(capacity, tokens + max(0.0, now - at) * refill)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return math.ceil((1.0 - tokens) / refill * 1000) / 1000
        self._buckets[key] = (tokens - 1.0, now)
        if len(self._buckets) > self.max_keys:
            self._prune(now)
        return None

    def _prune(self, now: float) -> None:
        full_after = 60.0  # a bucket refills from empty within a minute at any rate
        idle = [k for k, (_, at) in self._buckets.items() if now - at >= full_after]
        for key in idle:
            del self._buckets[key]
        if len(self._buckets) > self.max_keys:
            for key in list(self._buckets)[: len(self._buckets) // 2]:
                del self._buckets[key]
