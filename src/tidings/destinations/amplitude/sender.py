"""Deliver Amplitude work over HTTP: batching, client-side limits, per-event response handling.

The sender is driven by a caller that owns durability (the outbox): it hands over due
:class:`Pending` items and stores the :class:`Outcome` of each. The request loop is the one every
kind shares (:class:`~tidings.destinations.sending.BatchSender`: per-device order, halves of a
413, immediate resends of the valid rest of a partial 400 or the unthrottled rest of a 429);
this module says how events become requests and what Amplitude's answers mean.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

import httpx
import orjson

from tidings.core.backoff import Backoff
from tidings.destinations.amplitude.delivery import (
    DEFAULT_MAX_AGE_MS,
    THROTTLE_WAIT_MS,
    Outcome,
    Pending,
    Plan,
    plan_events,
    plan_form,
)
from tidings.destinations.amplitude.items import order_key
from tidings.destinations.amplitude.limiter import BATCH_EPS, HTTPAPI_EPS, RateLimiter
from tidings.destinations.amplitude.settings import Settings
from tidings.destinations.kind import Clock, wall_ms
from tidings.destinations.request import Request
from tidings.destinations.sending import ALL_DELIVERED, Batch, BatchSender
from tidings.version import VERSION

MAX_EVENTS = 2000
MAX_BYTES = {"httpapi": 1_000_000, "batch": 20_000_000}
USER_AGENT = f"tidings-amplitude/{VERSION}"
Decide = Callable[[int | None, dict[str, Any] | None, str | None, dict[str, Any]], Plan[Pending]]


def events_body(body: dict[str, Any], events_json: bytes) -> bytes:
    """``orjson.dumps(body)`` for a ``{"api_key", "events"[, "options"]}`` body whose events are
    already encoded as ``events_json`` (checking a batch's size encoded them once already)."""
    parts = [b'{"api_key":', orjson.dumps(body["api_key"]), b',"events":', events_json]
    if "options" in body:
        parts += [b',"options":', orjson.dumps(body["options"])]
    parts.append(b"}")
    return b"".join(parts)


class AmplitudeSender(BatchSender[Pending]):
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
        clock: Clock = wall_ms,
        rng: random.Random | None = None,
        backoff_base_ms: int = 1_000,
        backoff_cap_ms: int = 600_000,
        throttle_wait_ms: int = THROTTLE_WAIT_MS,
    ) -> None:
        self.settings = settings
        self.client = client or httpx.Client(timeout=timeout_s)
        self.max_batch_events = min(max_batch_events, MAX_EVENTS - 1)
        self.max_age_ms = max_age_ms
        self.max_rounds = max_rounds
        self.clock = clock
        self.backoff = Backoff(backoff_base_ms, backoff_cap_ms)
        self.rng = rng or random.Random()
        self.throttle_wait_ms = throttle_wait_ms
        self.limiters = {"httpapi": RateLimiter(HTTPAPI_EPS), "batch": RateLimiter(BATCH_EPS)}
        self.paused: str | None = None

    def close(self) -> None:
        self.client.close()

    def now_ms(self) -> int:
        return self.clock()

    def order_key(self, item: Pending) -> str:
        return order_key(item)

    def later(self, item: Pending, now_ms: int, reason: str) -> Outcome:
        at = now_ms + int(self.backoff.delay(item.attempts, self.rng.random()))
        return Outcome(item.key, "retry", at, reason)

    def requests(
        self, items: Sequence[Pending], now_ms: int
    ) -> tuple[list[Batch[Pending]], list[Outcome]]:
        """Form requests one by one, then events grouped by API and options, held back by the
        per-id limiter and batched under the count and byte limits."""
        forms: list[Batch[Pending]] = []
        groups: dict[tuple[str, bytes], list[Pending]] = {}
        for item in items:
            if item.request is not None:
                forms.append(([item], None))
            else:
                options = (
                    orjson.dumps(item.options, option=orjson.OPT_SORT_KEYS)
                    if item.options
                    else b"{}"
                )
                groups.setdefault((item.api, options), []).append(item)
        outcomes: list[Outcome] = []
        batches = forms
        for (api, _), group in groups.items():
            admitted, deferred = self._limit(api, group, now_ms)
            outcomes.extend(deferred)
            if admitted:
                batches.extend(self._batches(api, admitted))
        return batches, outcomes

    def post(self, batch: Batch[Pending], now_ms: int, *, report_delivered: bool) -> Plan[Pending]:
        items, events_json = batch
        first = items[0]
        if first.request is not None:
            return self._post_form(first, now_ms)
        api = first.api
        body: dict[str, Any] = {
            "api_key": self.settings.api_key,
            "events": [i.event for i in items],
        }
        if first.options:
            body["options"] = dict(first.options)
        request = Request("POST", self.settings.url(api), json=body)
        content = None if events_json is None else events_body(body, events_json)
        return self._exchange(
            request, self._event_planner(items, now_ms, report_delivered), content
        )

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

    def _batches(self, api: str, items: list[Pending]) -> list[Batch[Pending]]:
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
        batches: list[Batch[Pending]] = []
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

    def _event_planner(self, batch: list[Pending], now: int, report_delivered: bool) -> Decide:
        def decide(
            status: int | None,
            body: dict[str, Any] | None,
            error: str | None,
            record: dict[str, Any],
        ) -> Plan[Pending]:
            if not report_delivered and status is not None and 200 <= status < 300:
                return ALL_DELIVERED
            return plan_events(
                batch,
                status,
                body,
                now,
                request=record,
                error=error,
                backoff=self.backoff,
                rng=self.rng,
                max_age_ms=self.max_age_ms,
                throttle_wait_ms=self.throttle_wait_ms,
            )

        return decide

    # --- form requests ---------------------------------------------------------------------------

    def _post_form(self, item: Pending, now: int) -> Plan[Pending]:
        request: Request = item.request
        return self._exchange(
            request,
            lambda s, b, e, r: plan_form(
                item,
                s,
                b,
                now,
                request=r,
                error=e,
                backoff=self.backoff,
                rng=self.rng,
                max_age_ms=self.max_age_ms,
            ),
        )

    # --- I/O -------------------------------------------------------------------------------------

    def _exchange(
        self, request: Request, decide: Decide, content: bytes | None = None
    ) -> Plan[Pending]:
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
