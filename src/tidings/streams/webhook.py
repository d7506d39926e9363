"""HTTP webhook sink: ``POST {"events": [...]}`` with ``Tidings-Stream-Version: 1``.

Failures split by whose fault they are. A 5xx, a 408, a 429, a timeout or a broken connection is
the receiver's temporary trouble: the same batch is retried with exponential backoff (honouring
``Retry-After``), and if it still fails the sink reports :class:`SinkUnavailableError` so the
cursor does not move and nothing is lost. A 413 halves the batch until it fits. Any other 4xx
means the receiver will never take this batch: it is written to a dead-letter file together with
the response that refused it, and the stream moves on (nothing is dropped without a record of
why).
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from tidings.core.backoff import Backoff
from tidings.streams.httppost import HttpPoster, Response
from tidings.streams.sink import SinkUnavailableError

STREAM_VERSION_HEADER = "Tidings-Stream-Version"
STREAM_VERSION = "1"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """The sink's quick retries inside one delivery: how many tries, and their waits drawn from
    the one :class:`tidings.core.backoff.Backoff` with full jitter (attempt ``n`` waits up to
    ``base * 2**n`` seconds)."""

    base_seconds: float = 0.5
    max_seconds: float = 30.0
    attempts: int = 6
    """Tries per :meth:`WebhookSink.deliver` call before giving up with SinkUnavailableError."""

    def delay(self, attempt: int, rng: random.Random) -> float:
        return Backoff(self.base_seconds, self.max_seconds, "full").delay(attempt, rng.random())


class WebhookSink:
    """Deliver batches of stream records to one HTTP(S) endpoint.

    A batch the receiver refused for good becomes a dead letter ``{"url", "status", "response",
    "events"}``: appended to the JSON Lines file ``dead_letter_path``, or handed to
    ``on_dead_letter`` (the pipeline keeps them in the store, where the admin API lists them).
    Exactly one of the two is required, so a refused batch always lands somewhere.
    """

    name = "webhook"

    def __init__(
        self,
        url: str,
        *,
        dead_letter_path: str | os.PathLike[str] | None = None,
        on_dead_letter: Callable[[dict[str, Any]], None] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 10.0,
        backoff: RetryPolicy | None = None,
        max_batch: int = 500,
        sleep: Callable[[float], None] = time.sleep,
        seed: int | None = None,
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        if (dead_letter_path is None) == (on_dead_letter is None):
            raise ValueError("give exactly one of dead_letter_path and on_dead_letter")
        self.url = url
        self.headers = {
            "Content-Type": "application/json",
            STREAM_VERSION_HEADER: STREAM_VERSION,
            **(headers or {}),
        }
        self.timeout = timeout
        self._poster = HttpPoster(url, headers=self.headers, timeout=timeout)
        self.backoff = backoff or RetryPolicy()
        self.max_batch = max_batch
        self.dead_letter_path = Path(dead_letter_path) if dead_letter_path is not None else None
        self.on_dead_letter = on_dead_letter
        self._sleep = sleep
        self._rng = random.Random(seed)
        self.dead_lettered = 0

    # --- Sink protocol -----------------------------------------------------------------------

    def deliver(self, records: Sequence[Mapping[str, Any]]) -> None:
        for start in range(0, len(records), self.max_batch):
            self._deliver_one(records[start : start + self.max_batch])

    def maintain(self) -> None:
        """Nothing is buffered between calls."""

    @property
    def requests_sent(self) -> int:
        """Requests made so far (retries and reconnects included)."""
        return self._poster.requests_sent

    def close(self) -> None:
        self._poster.close()

    # --- internals ---------------------------------------------------------------------------

    def _deliver_one(self, records: Sequence[Mapping[str, Any]]) -> None:
        body = orjson.dumps({"events": list(records)})
        last: Response | None = None
        for attempt in range(self.backoff.attempts):
            if attempt:
                wait = self.backoff.delay(attempt - 1, self._rng)
                if last is not None and last.retry_after is not None:
                    wait = max(wait, min(last.retry_after, self.backoff.max_seconds))
                self._sleep(wait)
            last = self._poster.post(body)
            if 200 <= last.status < 300:
                return
            if last.status == 413 and len(records) > 1:
                # Too large for this receiver: halve until it fits; only a single record that
                # is still too large is dead-lettered.
                middle = len(records) // 2
                self._deliver_one(records[:middle])
                self._deliver_one(records[middle:])
                return
            if 400 <= last.status < 500 and last.status not in (408, 429):
                self._dead_letter(records, last)
                return
        assert last is not None
        reason = last.error or f"HTTP {last.status}"
        raise SinkUnavailableError(
            f"webhook {self.url}: {reason} after {self.backoff.attempts} attempts"
        )

    def _dead_letter(self, records: Sequence[Mapping[str, Any]], response: Response) -> None:
        entry = {
            "url": self.url,
            "status": response.status,
            "response": response.text,
            "events": list(records),
        }
        if self.on_dead_letter is not None:
            self.on_dead_letter(entry)
            self.dead_lettered += len(records)
            return
        assert self.dead_letter_path is not None
        self.dead_letter_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with open(self.dead_letter_path, "ab") as handle:
                handle.write(orjson.dumps(entry) + b"\n")
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            raise SinkUnavailableError(f"cannot write dead letter: {exc}") from exc
        self.dead_lettered += len(records)


def read_dead_letters(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The dead-letter entries of a webhook sink, oldest first."""
    try:
        with open(path, "rb") as handle:
            return [orjson.loads(line) for line in handle if line.strip()]
    except FileNotFoundError:
        return []
