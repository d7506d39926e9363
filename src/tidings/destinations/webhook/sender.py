"""Sending webhook items: batches of ``{"events": [...]}``, signed, and what each answer means.

2xx: delivered. 408, 429, 5xx, a timeout or no connection: retried with backoff (a
``Retry-After`` is honoured), dead after the maximum age. 413: the batch is halved (a single
item is dead). 410 Gone: the receiver wants nothing more, the destination is paused. Any other
answer (another 4xx, a 3xx): the batch is halved until the item the receiver refuses is alone,
and that one is dead with the status and the start of the response. The HTTP exchange itself is
the stream webhook sink's (:class:`~tidings.streams.httppost.HttpPoster`).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from typing import Any

from tidings.core.backoff import Backoff
from tidings.destinations.kind import Clock, Outcome, Plan, SendOptions
from tidings.destinations.sending import ALL_DELIVERED, Batch, BatchSender
from tidings.destinations.webhook.items import WebhookItem
from tidings.destinations.webhook.settings import WebhookSettings
from tidings.destinations.webhook.signing import signed_headers
from tidings.streams.httppost import HttpPoster, Response
from tidings.version import VERSION

USER_AGENT = f"tidings-webhook/{VERSION}"
_RETRIED = frozenset({0, 408, 429})


def batch_id(items: Sequence[WebhookItem]) -> str:
    """A batch's ``webhook-id``: the same items give the same id on every attempt."""
    digest = hashlib.sha256("\n".join(i.key for i in items).encode()).hexdigest()
    return f"msg_{digest[:32]}"


def body_of(items: Sequence[WebhookItem]) -> tuple[str, bytes]:
    """The ``webhook-id`` and the body of a request: a rendered payload alone, as it is, under
    its own id; anything else as ``{"events": [...]}``."""
    if len(items) == 1 and items[0].rendered:
        return items[0].key, items[0].body
    return batch_id(items), b'{"events":[' + b",".join(i.body for i in items) + b"]}"


class WebhookSender(BatchSender[WebhookItem]):
    """Posts one destination's items to its URL."""

    def __init__(
        self,
        settings: WebhookSettings,
        options: SendOptions,
        *,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.max_age_ms = options.max_age_ms
        self.max_events = min(settings.max_events, options.max_request_events)
        self.backoff = Backoff(options.backoff_base_ms, options.backoff_cap_ms)
        self.clock = clock or options.clock
        self.rng = rng or random.Random()
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
        self.poster = HttpPoster(
            settings.url,
            headers={**headers, **settings.headers},
            timeout=min(settings.timeout_s, options.timeout_s),
        )

    def close(self) -> None:
        self.poster.close()

    def now_ms(self) -> int:
        return self.clock()

    def order_key(self, item: WebhookItem) -> str:
        return item.order

    def later(self, item: WebhookItem, now_ms: int, reason: str) -> Outcome:
        return self._retry(item, now_ms, reason, None, None, None)

    def requests(
        self, items: Sequence[WebhookItem], now_ms: int
    ) -> tuple[list[Batch[WebhookItem]], list[Outcome]]:
        """Items in order: rendered payloads alone, the others in batches under the limits."""
        batches: list[Batch[WebhookItem]] = []
        current: list[WebhookItem] = []
        size = 0
        limit = self.settings.max_bytes - 16
        for item in items:
            if item.rendered:
                if current:
                    batches.append((current, None))
                    current, size = [], 0
                batches.append(([item], None))
                continue
            if current and (len(current) >= self.max_events or size + len(item.body) > limit):
                batches.append((current, None))
                current, size = [], 0
            current.append(item)
            size += len(item.body) + 1
        if current:
            batches.append((current, None))
        return batches, []

    def post(
        self, batch: Batch[WebhookItem], now_ms: int, *, report_delivered: bool
    ) -> Plan[WebhookItem]:
        items = batch[0]
        msg_id, body = body_of(items)
        signed = signed_headers(self.settings.keys, msg_id, now_ms // 1000, body)
        response = self.poster.post(body, signed)
        request: dict[str, Any] = {
            "method": "POST",
            "url": self.settings.url,
            "webhookId": msg_id,
            "items": len(items),
        }
        status = response.status
        if 200 <= status < 300:
            if not report_delivered:
                return ALL_DELIVERED
            return Plan([Outcome(i.key, "delivered") for i in items], [])
        answer = _answer(response)
        if status in _RETRIED or status >= 500:
            reason = response.error or f"HTTP {status}"
            retry_after = response.retry_after
            return Plan(
                [self._retry(i, now_ms, reason, retry_after, request, answer) for i in items], []
            )
        if status == 410:
            reason = "destination paused: the receiver answered 410 Gone"
            paused = [Outcome(i.key, "paused", None, reason, request, answer) for i in items]
            return Plan(paused, [], pause_reason=reason)
        if len(items) > 1:  # 413, or one item the receiver refuses: find it
            return Plan([], list(items), split=True)
        item = items[0]
        reason = f"HTTP {status}: {response.text[:200]}".rstrip(": ")
        if status == 413:
            reason = "payload too large for one request"
        return Plan(
            [Outcome(item.key, "dead", None, reason, request, answer, item.attempts + 1)], []
        )

    def _retry(  # noqa: PLR0917 - an outcome and everything that explains it
        self,
        item: WebhookItem,
        now_ms: int,
        reason: str,
        retry_after_s: float | None,
        request: dict[str, Any] | None,
        response: dict[str, Any] | None,
    ) -> Outcome:
        wait = self.backoff.delay(item.attempts, self.rng.random())
        if retry_after_s is not None:
            wait = max(wait, retry_after_s * 1000)
        at = now_ms + int(wait)
        attempts = item.attempts + 1
        if at - item.enqueued_ms > self.max_age_ms:
            reason = f"{reason}; gave up after the maximum age"
            return Outcome(item.key, "dead", None, reason, request, response, attempts)
        return Outcome(item.key, "retry", at, reason, request, response, attempts)


def _answer(response: Response) -> dict[str, Any]:
    if response.status == 0:
        return {"error": response.error}
    return {"status": response.status, "body": response.text}
