"""The outbox side of delivery: each active instance's due rows, sent in per-key order.

One process at a time per instance (lease ``sender:{id}``) takes due rows in enqueue order (the
outbox never hands out a row while an earlier row of its device, else user, waits), batches them
when enough are due or the oldest is old enough (:class:`~tidings.destinations.kind.BatchPolicy`),
sends them with the kind's sender on a worker thread, and settles every row in one transaction:
delivered rows go, retried rows get their due time, dead ones move to the dead letters. A
``paused`` outcome leaves the rows where they are and flags the instance; a ``held`` one (behind
a waiting row of its key) leaves its row as it is. A row that no longer decodes is dead-lettered
with the reason instead of blocking the outbox.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from tidings.destinations.kind import (
    DEFAULT_MAX_AGE_MS,
    BatchPolicy,
    Clock,
    Destination,
    Outcome,
    Sender,
    SendOptions,
    wall_ms,
)
from tidings.pipeline.delivery.campaign_calls import failure_of_rendered
from tidings.pipeline.delivery.direct import DirectOptions
from tidings.pipeline.delivery.instances import Instance, set_paused
from tidings.storage import DeadLetterIn, DecisionIn, OutboxRow, Settle, Store

_log = logging.getLogger("tidings.pipeline.delivery")


@dataclass(frozen=True, slots=True)
class SenderOptions:
    """Tuning of delivery (defaults suit a server).

    ``batch``: the outbox sends when ``max_events`` are due or the oldest due one waited
    ``max_wait_ms``. ``poll_seconds``: how often an idle sender looks for rows enqueued by other
    processes. ``direct``: when the log consumer sends a batch itself rather than through the
    outbox. ``backoff_base_ms`` / ``backoff_cap_ms``: the retry backoff (tests shorten it);
    ``extra``: kind-specific knobs (Amplitude's ``throttleWaitMs``).
    """

    batch: BatchPolicy = field(default_factory=lambda: BatchPolicy(1000, max_wait_ms=1000))
    max_age_ms: int = DEFAULT_MAX_AGE_MS
    timeout_s: float = 10.0
    poll_seconds: float = 0.5
    max_request_events: int = 1000
    direct: DirectOptions = field(default_factory=DirectOptions)
    backoff_base_ms: int = 1_000
    backoff_cap_ms: int = 600_000
    extra: dict[str, Any] = field(default_factory=dict)
    clock: Clock = wall_ms
    """The one clock of delivery: due times, ages, pauses, replays (tests bring their own)."""

    def send_options(self, max_request_events: int | None = None) -> SendOptions:
        """What a kind's sender is made with."""
        return SendOptions(
            timeout_s=self.timeout_s,
            max_age_ms=self.max_age_ms,
            max_request_events=max_request_events or self.max_request_events,
            backoff_base_ms=self.backoff_base_ms,
            backoff_cap_ms=self.backoff_cap_ms,
            extra=self.extra,
            clock=self.clock,
        )


def _settle_for(
    destination: Destination, outcome: Outcome, row: OutboxRow, item: Any, now_ms: int
) -> Settle | None:
    if outcome.kind == "delivered":
        return Settle(row.id)
    if outcome.kind == "retry":
        at = outcome.retry_at_ms if outcome.retry_at_ms is not None else now_ms
        attempts = max(outcome.attempts, row.attempts)
        return Settle(row.id, retry_at=at, reason=outcome.reason, attempts=attempts)
    if outcome.kind == "dead":
        dead = DeadLetterIn(
            row.item_key,
            outcome.attempts,
            outcome.reason,
            row.body,
            destination.dead_request(outcome, item),
            outcome.response,
        )
        return Settle(row.id, dead=dead)
    return None  # paused, held: the row stays as it is


def _campaign_failure(item: Any, now: int, reason: str) -> tuple[str, DecisionIn] | None:
    """A dead rendered payload that was a server campaign's call is a delivery failure of that
    decision: its record goes into the log in the transaction that buries the item."""
    body = getattr(item, "body", None)
    if not getattr(item, "rendered", False) or not isinstance(body, bytes):
        return None
    return failure_of_rendered(body, now, reason)


def _undecodable(row: OutboxRow, exc: Exception) -> Settle:
    reason = f"stored item cannot be decoded: {type(exc).__name__}: {exc}"
    return Settle(row.id, dead=DeadLetterIn(row.item_key, row.attempts, reason, row.body))


class InstanceSender:
    """Sends one instance's outbox; one per instance per process (under the sender lease)."""

    def __init__(self, store: Store, instance: Instance, options: SenderOptions) -> None:
        self.store = store
        self.instance = instance
        self.options = options
        self.destination = instance.build()
        self.sender = self.destination.sender(options.send_options())
        self.sent = 0

    def reconfigure(self, instance: Instance) -> None:
        """Pick up a changed configuration (a new API key...), keeping the sender's state
        (limiters) when only the mapping changed."""
        if instance.body != self.instance.body:
            self.destination = instance.build()
        if instance.body.get("settings") != self.instance.body.get("settings"):
            old = self.sender
            self.sender = self.destination.sender(self.options.send_options())
            if hasattr(old, "limiters") and hasattr(self.sender, "limiters"):
                self.sender.limiters = old.limiters
            old.close()
        self.instance = instance

    def close(self) -> None:
        self.sender.close()

    async def step(self, *, force: bool = False) -> int:
        """Send one batch if one is ready; returns how many rows were settled."""
        now = self.options.clock()
        rows = await self.store.due(self.instance.id, now, self.options.batch.max_events)
        if not rows:
            return 0
        oldest = min(r.enqueued_ms for r in rows)
        if not force and not self.options.batch.should_flush(len(rows), oldest, now):
            return 0
        kind = self.instance.destination_kind
        settled: list[Settle] = []
        items: list[Any] = []
        by_key: dict[str, tuple[OutboxRow, Any]] = {}
        for row in rows:
            try:
                item = kind.decode(row.item_key, row.body, row.enqueued_ms, row.attempts)
            except Exception as exc:
                settled.append(_undecodable(row, exc))
                continue
            items.append(item)
            by_key[row.item_key] = (row, item)
        sender: Sender = self.sender
        sender.resume()
        outcomes = await asyncio.to_thread(sender.send, items, now) if items else []
        paused: str | None = None
        log: list[tuple[str, DecisionIn]] = []
        for outcome in outcomes:
            pair = by_key.get(outcome.key)
            if pair is None:
                continue
            if outcome.kind == "paused":
                paused = outcome.reason
            one = _settle_for(self.destination, outcome, pair[0], pair[1], now)
            if one is not None:
                settled.append(one)
                if one.dead is not None:
                    failure = _campaign_failure(pair[1], now, one.dead.reason)
                    if failure is not None:
                        log.append(failure)
        await self.store.settle(self.instance.id, settled, log)
        if paused is not None:
            _log.warning("destination %s paused: %s", self.instance.id, paused)
            await set_paused(self.store, self.instance.id, paused, now)
        self.sent += sum(1 for s in settled if s.retry_at is None and s.dead is None)
        return len(settled)

    async def drain(self) -> int:
        """Send everything that is due now, whatever the batch policy (tests, ``--once``)."""
        total = 0
        while (n := await self.step(force=True)) > 0:
            total += n
        return total
