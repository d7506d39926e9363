"""The request loop every kind's sender runs: batches out, one outcome per item, order kept.

A kind's sender says how items become requests (:meth:`BatchSender.requests`: grouping, count
and byte limits, and what its own rate limits hold back) and what one request's answer means
for each item (:meth:`BatchSender.post`). This loop does the rest, the same for every kind:

* a batch the receiver finds too large is split in halves, sent in order;
* items to resend at once (the valid rest of a partial refusal) are sent next, before any later
  batch, and given up to a backoff after ``max_rounds`` rounds;
* **per-key order**: once an item of a device (else user) is waiting (a retry, a rate limit, a
  pause), no later item of that key goes out in this call: it comes back ``held`` and keeps its
  place behind the waiting one (the outbox's per-key order does the same across calls);
* an item the kind cannot encode or send (an exception, not an answer) is isolated by halving
  and dead-lettered with the reason, so one bad item never blocks the others.
"""

from __future__ import annotations

import abc
from collections import deque
from collections.abc import Sequence
from typing import Any, Generic

from tidings.destinations.kind import Item, ItemT, Outcome, Plan

ALL_DELIVERED: Plan[Any] = Plan([], [])
"""What :meth:`BatchSender.post` may return for a 2xx when delivered items need no outcome of
their own (the caller counts them)."""

Batch = tuple[list[ItemT], bytes | None]
"""A request's items, and its encoded body when the kind already has it."""

_BLOCKING = frozenset({"retry", "paused", "held"})


class BatchSender(abc.ABC, Generic[ItemT]):
    """A kind's sender: :meth:`send` / :meth:`send_counted` over the kind's requests.

    ``paused`` holds the reason once the receiver refused the destination itself (a bad key):
    every later item is reported ``paused`` without sending until :meth:`resume`.
    """

    paused: str | None = None
    max_rounds: int = 8
    """Rounds of immediate resends in one call before the rest waits for a backoff."""

    @abc.abstractmethod
    def now_ms(self) -> int:
        """The sender's clock (injected, so tests and benchmarks control it)."""

    @abc.abstractmethod
    def order_key(self, item: ItemT) -> str:
        """The device id, else the user id, else ``""``: whose order is kept."""

    @abc.abstractmethod
    def requests(
        self, items: Sequence[ItemT], now_ms: int
    ) -> tuple[list[Batch[ItemT]], list[Outcome]]:
        """The batches to post, in order, and outcomes for items the kind holds back."""

    @abc.abstractmethod
    def post(self, batch: Batch[ItemT], now_ms: int, *, report_delivered: bool) -> Plan[ItemT]:
        """Send one request and decide per item (:data:`ALL_DELIVERED` when every item was
        delivered and ``report_delivered`` is false)."""

    @abc.abstractmethod
    def later(self, item: ItemT, now_ms: int, reason: str) -> Outcome:
        """A retry with backoff for an item that is not sent now (or dead past its age)."""

    def resume(self) -> None:
        """Send again after a pause (the destination was fixed or resumed)."""
        self.paused = None

    def close(self) -> None:
        """Release connections."""

    def send(self, items: Sequence[ItemT], now_ms: int | None = None) -> list[Outcome]:
        """Send every item once (plus immediate resends); one outcome per item."""
        return self._send(items, now_ms, report_delivered=True)[1]

    def send_counted(
        self, items: Sequence[ItemT], now_ms: int | None = None
    ) -> tuple[int, list[Outcome]]:
        """:meth:`send` for a caller that acts only on what was not delivered: how many items
        were delivered, and the outcome of every other one (no object per delivered item)."""
        return self._send(items, now_ms, report_delivered=False)

    def _send(
        self, items: Sequence[ItemT], now_ms: int | None, *, report_delivered: bool
    ) -> tuple[int, list[Outcome]]:
        now = self.now_ms() if now_ms is None else now_ms
        if self.paused is not None:
            return 0, [Outcome(i.key, "paused", None, self.paused) for i in items]
        batches, outcomes = self.requests(items, now)
        blocked = _Blocked(items)
        if outcomes:
            self._block(blocked, outcomes, items)
        delivered = 0
        queue: deque[tuple[list[ItemT], bytes | None, int]] = deque(
            (batch, body, 0) for batch, body in batches
        )
        while queue:
            batch, body, round_ = queue.popleft()
            if self.paused is not None:
                outcomes.extend(Outcome(i.key, "paused", None, self.paused) for i in batch)
                continue
            if blocked:
                batch, body = self._unblocked(batch, body, blocked, outcomes)
                if not batch:
                    continue
            try:
                plan = self.post((batch, body), now, report_delivered=report_delivered)
            except Exception as exc:  # not an answer: an item the kind cannot encode or send
                if len(batch) > 1:
                    half = len(batch) // 2
                    queue.appendleft((batch[half:], None, round_))
                    queue.appendleft((batch[:half], None, round_))
                else:
                    reason = f"cannot be sent: {type(exc).__name__}: {exc}"
                    outcomes.append(
                        Outcome(batch[0].key, "dead", None, reason, attempts=batch[0].attempts)
                    )
                continue
            if plan is ALL_DELIVERED:
                delivered += len(batch)
                continue
            waiting: list[Outcome] = []
            for outcome in plan.outcomes:
                if outcome.kind == "delivered":
                    delivered += 1
                    if not report_delivered:
                        continue
                elif outcome.kind in _BLOCKING:
                    waiting.append(outcome)
                outcomes.append(outcome)
            if plan.pause_reason:
                self.paused = plan.pause_reason
            if waiting:
                self._block(blocked, waiting, batch)
            if plan.split:
                half = len(batch) // 2
                queue.appendleft((batch[half:], None, round_))
                queue.appendleft((batch[:half], None, round_))
            elif plan.resend_now:
                if round_ + 1 >= self.max_rounds:
                    gave_up = [self.later(i, now, "resend limit") for i in plan.resend_now]
                    outcomes.extend(gave_up)
                    self._block(blocked, gave_up, plan.resend_now)
                else:
                    # First in line: a later batch must not overtake these items.
                    queue.appendleft((plan.resend_now, None, round_ + 1))
        return delivered, outcomes

    def _block(
        self, blocked: _Blocked, outcomes: Sequence[Outcome], items: Sequence[ItemT]
    ) -> None:
        """Block the order keys of the items whose outcomes make them wait, from them on."""
        waiting = {o.key for o in outcomes if o.kind in _BLOCKING}
        if waiting:
            for item in items:
                if item.key in waiting:
                    blocked.add(self.order_key(item), item.key)

    def _unblocked(
        self, batch: list[ItemT], body: bytes | None, blocked: _Blocked, outcomes: list[Outcome]
    ) -> tuple[list[ItemT], bytes | None]:
        """The batch without the items behind a waiting one of their key (reported ``held``)."""
        keep: list[ItemT] = []
        for item in batch:
            if blocked.holds(self.order_key(item), item.key):
                reason = "held behind an earlier item of its device that is waiting"
                outcomes.append(Outcome(item.key, "held", None, reason, attempts=item.attempts))
            else:
                keep.append(item)
        if len(keep) == len(batch):
            return batch, body
        return keep, None


class _Blocked:
    """Per order key, the position (in the items of one send) of its first waiting item: the
    items after it are held, the ones before it are not (a rate limit holds back a device's
    later events, not its earlier ones). Positions are numbered only once something waits."""

    __slots__ = ("_first", "_items", "_position")

    def __init__(self, items: Sequence[Item]) -> None:
        self._items = items
        self._first: dict[str, int] = {}
        self._position: dict[str, int] | None = None

    def __bool__(self) -> bool:
        return bool(self._first)

    def _at(self, item_key: str) -> int:
        if self._position is None:
            self._position = {item.key: n for n, item in enumerate(self._items)}
        return self._position.get(item_key, -1)

    def add(self, order_key: str, item_key: str) -> None:
        at = self._at(item_key)
        if at < self._first.get(order_key, at + 1):
            self._first[order_key] = at

    def holds(self, order_key: str, item_key: str) -> bool:
        first = self._first.get(order_key)
        return first is not None and self._at(item_key) > first
