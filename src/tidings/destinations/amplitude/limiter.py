"""A client-side limiter that keeps each device and user under Amplitude's events-per-second limit.

Token buckets per id (capacity = the limit, refilled continuously), so bursts up to the limit pass
and a steady stream is held at it; 429s become the exception. Pure: time is a parameter.
"""

from __future__ import annotations

from dataclasses import dataclass, field

HTTPAPI_EPS = 30
BATCH_EPS = 1000


@dataclass(slots=True)
class RateLimiter:
    """``admit(ids, now_ms)`` takes one token from every id or none, returning the wait in ms."""

    per_second: int = HTTPAPI_EPS
    max_ids: int = 100_000
    _buckets: dict[str, tuple[float, int]] = field(default_factory=dict)

    def _level(self, key: str, now_ms: int) -> float:
        tokens, last = self._buckets.get(key, (float(self.per_second), now_ms))
        return min(float(self.per_second), tokens + (now_ms - last) * self.per_second / 1000)

    def admit(self, ids: tuple[str | None, ...], now_ms: int) -> int:
        """0 when admitted (tokens taken); otherwise the ms until every id has a token."""
        keys = [k for k in ids if k]
        levels = [self._level(k, now_ms) for k in keys]
        short = [1 - level for level in levels if level < 1]
        if short:
            return max(1, int(max(short) * 1000 / self.per_second + 0.999))
        if len(self._buckets) > self.max_ids:
            self._buckets.clear()
        for key, level in zip(keys, levels, strict=True):
            self._buckets[key] = (level - 1, now_ms)
        return 0
