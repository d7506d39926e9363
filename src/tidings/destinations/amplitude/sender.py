"""Deliver Amplitude work over HTTP: batching, client-side limits, per-event response handling.

The sender is driven by a caller that owns durability (the outbox): it hands over due
:class:`Pending` items and stores the :class:`Outcome` of each. Within one ``send`` call, events
that Amplitude asks to resend at once (the valid rest of a partial 400, the unthrottled rest of a
429, the halves of a 413) are resent immediately; everything else comes back as an outcome.
"""

from __future__ import annotations

import random
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import httpx
import orjson

from tidings.destinations.amplitude.delivery import (
    DEFAULT_MAX_AGE_MS,
    Backoff,
    Outcome,
    Pending,
    Plan,
    plan_events,
    plan_form,
)
from tidings.destinations.amplitude.limiter import BATCH_EPS, HTTPAPI_EPS, RateLimiter
from tidings.destinations.amplitude.settings import Settings
from tidings.destinations.request import Request

_ALL_DELIVERED = Plan([], [])
"""What a batch's 2xx answer decides when delivered items need no outcome of their own."""

MAX_EVENTS = 2000
MAX_BYTES = {"httpapi": 1_000_000, "batch": 20_000_000}
USER_AGENT = "tidings-amplitude/0.1"
Decide = Callable[[int | None, dict[str, Any] | None, str | None, dict[str, Any]], Plan]


def _now_ms() -> int:
    return int(time.time() * 1000)


def events_body(body: dict[str, Any], events_json: bytes) -> bytes:
    """``orjson.dumps(body)`` for a ``{"api_key", "events"[, "options"]}`` body whose events are
    already encoded as ``events_json`` (checking a batch's size encoded them once already)."""
    parts = [b'{"api_key":', orjson.dumps(body["api_key"]), b',"events":', events_json]
    if "options" in body:
        parts += [b',"options":', orjson.dumps(body["options"])]
    parts.append(b"}")
    return b"".join(parts)


class AmplitudeSender:
    """Batches events per API and options, sends them, and reports an outcome per item.

    ``paused`` holds the reason once Amplitude refused the instance itself (bad API key, missing
    field): every later item is reported ``paused`` without sending until :meth:`resume`.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        client: httpx.Client | None = None,
        max_batch_events: int = 500,
        timeout_s: float = 10.0,
        max_age_ms: int = DEFAULT_MAX_AGE_MS,
        max_rounds: int = 8,
        clock: Callable[[], int] = _now_ms,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.client = client or httpx.Client(timeout=timeout_s)
        self.max_batch_events = min(max_batch_events, MAX_EVENTS - 1)
        self.max_age_ms = max_age_ms
        self.max_rounds = max_rounds
        self.clock = clock
        self.backoff = Backoff(rng=rng or random.Random())
        self.limiters = {"httpapi": RateLimiter(HTTPAPI_EPS), "batch": RateLimiter(BATCH_EPS)}
        self.paused: str | None = None

    def close(self) -> None:
        self.client.close()

    def resume(self) -> None:
        self.paused = None

    # --- public ------------------------------------------------------------------------------

    def send(self, items: Sequence[Pending], now_ms: int | None = None) -> list[Outcome]:
        """Send every item once (plus immediate resends) and return one outcome per item."""
        return self._send(items, now_ms, report_delivered=True)[1]

    def send_counted(
        self, items: Sequence[Pending], now_ms: int | None = None
    ) -> tuple[int, list[Outcome]]:
        """:meth:`send` for a caller that acts only on what was not delivered: how many items
        were delivered, and the outcome of every other one (no object per delivered event)."""
        return self._send(items, now_ms, report_delivered=False)

    def _send(
        self, items: Sequence[Pending], now_ms: int | None, *, report_delivered: bool
    ) -> tuple[int, list[Outcome]]:
        now = self.clock() if now_ms is None else now_ms
        outcomes: list[Outcome] = []
        delivered = 0
        groups: dict[tuple[str, bytes], list[Pending]] = {}
        for item in items:
            if self.paused is not None:
                outcomes.append(Outcome(item.key, "paused", None, self.paused))
            elif item.request is not None:
                for outcome in self._send_form(item, now):
                    if outcome.kind != "delivered":
                        outcomes.append(outcome)
                    else:
                        delivered += 1
                        if report_delivered:
                            outcomes.append(outcome)
            else:
                options = (
                    orjson.dumps(item.options, option=orjson.OPT_SORT_KEYS)
                    if item.options
                    else b"{}"
                )
                groups.setdefault((item.api, options), []).append(item)
        for (api, _), group in groups.items():
            admitted, deferred = self._limit(api, group, now)
            outcomes.extend(deferred)
            delivered += self._send_events(api, admitted, now, outcomes, report_delivered)
        return delivered, outcomes

    # --- events --------------------------------------------------------------------------------

    def _limit(
        self, api: str, group: list[Pending], now: int
    ) -> tuple[list[Pending], list[Outcome]]:
        """Hold back events over the per-id rate; later events of a held id wait too (order)."""
        limiter = self.limiters.get(api, self.limiters["httpapi"])
        held: dict[str, int] = {}
        admitted: list[Pending] = []
        deferred: list[Outcome] = []
        admit = limiter.admit
        for item in group:
            user, device = item.ids()
            ids: tuple[str, ...]
            if user and device:
                ids = (user, device)
            elif user or device:
                ids = (user or device or "",)
            else:
                ids = ()
            wait = max((held[i] for i in ids if i in held), default=0) if held else 0
            if not wait:
                wait = admit(ids, now)
            if wait:
                for i in ids:
                    held[i] = max(held.get(i, 0), wait)
                deferred.append(
                    Outcome(
                        item.key,
                        "retry",
                        now + wait,
                        "client-side rate limit",
                        attempts=item.attempts,
                    )
                )
            else:
                admitted.append(item)
        return admitted, deferred

    def _batches(self, api: str, items: list[Pending]) -> list[tuple[list[Pending], bytes | None]]:
        """The requests' events, each batch with its events' JSON array when already encoded."""
        limit = MAX_BYTES.get(api, MAX_BYTES["httpapi"]) - 1024
        step = max(1, self.max_batch_events)
        chunks = [items[i : i + step] for i in range(0, len(items), step)]
        # The common case: every chunk of the largest count is under the size limit, which one
        # dump per chunk shows (its length less one is the sum of ``len(event) + 1`` below);
        # that dump then goes into the request body as it is.
        dumped = [orjson.dumps([i.event for i in chunk]) for chunk in chunks]
        if all(len(data) - 1 <= limit for data in dumped):
            return list(zip(chunks, dumped, strict=True))
        batches: list[tuple[list[Pending], bytes | None]] = []
        current: list[Pending] = []
        size = 0
        for item in items:
            item_size = len(orjson.dumps(item.event)) + 1
            if current and (len(current) >= self.max_batch_events or size + item_size > limit):
                batches.append((current, None))
                current, size = [], 0
            current.append(item)
            size += item_size
        if current:
            batches.append((current, None))
        return batches

    def _send_events(
        self,
        api: str,
        items: list[Pending],
        now: int,
        outcomes: list[Outcome],
        report_delivered: bool,
    ) -> int:
        """Send ``items`` in batches, adding outcomes to ``outcomes`` (delivered ones only when
        ``report_delivered``); returns how many were delivered."""
        delivered = 0
        queue: deque[tuple[list[Pending], int, bytes | None]] = deque(
            (batch, 0, data) for batch, data in self._batches(api, items)
        )
        while queue:
            batch, round_, events_json = queue.popleft()
            if self.paused is not None:
                outcomes.extend(Outcome(i.key, "paused", None, self.paused) for i in batch)
                continue
            body: dict[str, Any] = {
                "api_key": self.settings.api_key,
                "events": [i.event for i in batch],
            }
            if batch[0].options:
                body["options"] = dict(batch[0].options)
            request = Request("POST", self.settings.url(api), json=body)
            content = None if events_json is None else events_body(body, events_json)
            plan = self._exchange(
                request, self._event_planner(batch, now, report_delivered), content
            )
            if plan is _ALL_DELIVERED:
                delivered += len(batch)
                continue
            for outcome in plan.outcomes:
                if outcome.kind == "delivered":
                    delivered += 1
                    if not report_delivered:
                        continue
                outcomes.append(outcome)
            if plan.pause_reason:
                self.paused = plan.pause_reason
            if plan.split:
                half = len(batch) // 2
                queue.appendleft((batch[half:], round_, None))
                queue.appendleft((batch[:half], round_, None))
            elif plan.resend_now:
                if round_ + 1 >= self.max_rounds:
                    outcomes.extend(
                        Outcome(
                            i.key, "retry", now + self.backoff.delay_ms(i.attempts), "resend limit"
                        )
                        for i in plan.resend_now
                    )
                else:
                    queue.append((plan.resend_now, round_ + 1, None))
        return delivered

    def _event_planner(self, batch: list[Pending], now: int, report_delivered: bool) -> Decide:
        def decide(
            status: int | None,
            body: dict[str, Any] | None,
            error: str | None,
            record: dict[str, Any],
        ) -> Plan:
            if not report_delivered and status is not None and 200 <= status < 300:
                return _ALL_DELIVERED
            return plan_events(
                batch,
                status,
                body,
                now,
                request=record,
                error=error,
                backoff=self.backoff,
                max_age_ms=self.max_age_ms,
            )

        return decide

    # --- form requests ---------------------------------------------------------------------------

    def _send_form(self, item: Pending, now: int) -> list[Outcome]:
        request: Request = item.request
        plan = self._exchange(
            request,
            lambda s, b, e, r: plan_form(
                item,
                s,
                b,
                now,
                request=r,
                error=e,
                backoff=self.backoff,
                max_age_ms=self.max_age_ms,
            ),
        )
        if plan.pause_reason:
            self.paused = plan.pause_reason
        return plan.outcomes

    # --- I/O -------------------------------------------------------------------------------------

    def _exchange(self, request: Request, decide: Decide, content: bytes | None = None) -> Plan:
        """Send ``request`` (its body ``content`` when the caller already encoded it)."""
        record = request.to_preview()
        headers = {
            "Content-Type": request.content_type(),
            "Accept": "*/*",
            "User-Agent": USER_AGENT,
        }
        try:
            response = self.client.request(
                request.method,
                request.url,
                content=request.body() if content is None else content,
                headers=headers,
            )
        except httpx.TimeoutException as exc:
            return decide(None, None, f"timeout: {type(exc).__name__}", record)
        except httpx.TransportError as exc:
            return decide(None, None, f"connection error: {type(exc).__name__}", record)
        try:
            parsed = orjson.loads(response.content) if response.content else {}
        except orjson.JSONDecodeError:
            parsed = {"raw": response.text[:1000]}
        body = parsed if isinstance(parsed, dict) else {"raw": parsed}
        return decide(response.status_code, body, None, record)
