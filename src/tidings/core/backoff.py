"""The one exponential backoff: how long to wait before the next attempt.

Attempt ``n`` (failures so far, from 0) has a step of ``base * 2**n``, capped at ``cap``; the
wait is drawn from that step by the jitter:

* ``"equal"`` (the SDK's uploads, every destination kind's retries): half the step fixed and
  half random, ``step/2 + r*step/2``. The fixed half keeps retries from hammering a receiver
  that is coming back; the random half spreads many senders apart.
* ``"full"`` (the stream webhook sink's quick in-call retries, ``tidings.streams.RetryPolicy``):
  ``r*step``, anywhere from 0.

This is the only backoff: the SDK (``tidings.sdk.transport``), the Amplitude kind, the webhook
kind and the stream webhook sink all hold one of these, with their own random source.

Pure: the random draw ``r`` in [0, 1) is a parameter, so every caller brings its own source
(seeded in tests) and the unit is the caller's (seconds or milliseconds alike).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Jitter = Literal["equal", "full"]


@dataclass(frozen=True, slots=True)
class Backoff:
    """``base`` doubling per attempt up to ``cap``, with ``jitter``."""

    base: float
    cap: float
    jitter: Jitter = "equal"

    def step(self, attempt: int) -> float:
        """The un-jittered wait of attempt ``attempt`` (failures so far, from 0)."""
        return float(min(self.cap, self.base * 2.0 ** min(max(attempt, 0), 60)))

    def delay(self, attempt: int, r: float) -> float:
        """The wait before attempt ``attempt + 1``, for a random draw ``r`` in [0, 1)."""
        step = self.step(attempt)
        if self.jitter == "full":
            return r * step
        return step / 2 + r * step / 2
