"""Per-event delivery decisions for Amplitude's responses (docs/spec/amplitude.md, "Delivery").

Pure: given the events of one request, the response status and body, and the time, say what
happens to each event. The sender does the I/O; an outbox stores the outcomes. Nothing is dropped
without a reason: an event either is delivered, waits until a time, waits for the instance to be
fixed (paused), or goes to the dead letter with the request and response that refused it.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tidings.core.backoff import Backoff
from tidings.destinations.kind import (
    DAY_MS,
    DEFAULT_MAX_AGE_MS,
    BatchPolicy,
    Outcome,
    OutcomeKind,
    Plan,
)

THROTTLE_WAIT_MS = 30_000
IDENTIFY_THROTTLE_WAIT_MS = 15_000
RETRY_BACKOFF = Backoff(1_000, 600_000)
"""Amplitude items' retries: 1 s doubling up to 10 min, equal jitter (half the step fixed, so a
recovering endpoint is not hammered; half random, so senders spread apart)."""

__all__ = [
    "DAY_MS",
    "DEFAULT_MAX_AGE_MS",
    "IDENTIFY_THROTTLE_WAIT_MS",
    "RETRY_BACKOFF",
    "THROTTLE_WAIT_MS",
    "BatchPolicy",
    "Outcome",
    "OutcomeKind",
    "Pending",
    "Plan",
    "next_day_ms",
    "plan_events",
    "plan_form",
]


@dataclass(slots=True)
class Pending:
    """One unit waiting for delivery: an Amplitude event (batched) or a whole form request.

    Treated as a value and never changed once made; not ``frozen`` only because a frozen
    dataclass's ``__init__`` costs three times as much, and one is made per delivered event.

    ``key`` is the caller's id for it (an outbox row, the event id); ``enqueued_ms`` starts the
    maximum-age clock; ``attempts`` counts failed sends so far (for the backoff).
    """

    key: str
    enqueued_ms: int
    event: dict[str, Any] | None = None
    api: str = "httpapi"
    options: Mapping[str, Any] | None = None
    request: Any = None
    attempts: int = 0

    def ids(self) -> tuple[str | None, str | None]:
        event = self.event or {}
        return event.get("user_id"), event.get("device_id")


def next_day_ms(now_ms: int) -> int:
    """The next UTC midnight: when a daily quota has surely moved on."""
    return (now_ms // DAY_MS + 1) * DAY_MS


def _indexes(body: Mapping[str, Any], key: str) -> dict[int, str]:
    """``{"time": [3, 4]}`` style maps (or a plain list) as index -> field."""
    out: dict[int, str] = {}
    value = body.get(key)
    if isinstance(value, Mapping):
        for fld, idx in value.items():
            for i in idx if isinstance(idx, list) else []:
                if isinstance(i, int):
                    out.setdefault(i, str(fld))
    elif isinstance(value, list):
        for i in value:
            if isinstance(i, int):
                out.setdefault(i, "")
    return out


def plan_events(
    items: Sequence[Pending],
    status: int | None,
    body: Mapping[str, Any] | None,
    now_ms: int,
    *,
    request: dict[str, Any] | None = None,
    error: str | None = None,
    backoff: Backoff = RETRY_BACKOFF,
    rng: random.Random | None = None,
    max_age_ms: int = DEFAULT_MAX_AGE_MS,
    throttle_wait_ms: int = THROTTLE_WAIT_MS,
) -> Plan[Pending]:
    """Decide per event after one ``/2/httpapi`` or ``/batch`` exchange.

    ``status`` is ``None`` for a timeout or connection error (``error`` says which); a retry
    waits ``backoff`` (the one :class:`~tidings.core.backoff.Backoff`) with a draw of ``rng``.
    """
    body = body or {}
    draw = (rng or random).random
    response = {"status": status, "body": dict(body)} if status is not None else {"error": error}

    def done(item: Pending, kind: OutcomeKind, reason: str = "", at: int | None = None) -> Outcome:
        return Outcome(item.key, kind, at, reason, request, response, item.attempts + 1)

    def later(item: Pending, reason: str) -> Outcome:
        at = now_ms + int(backoff.delay(item.attempts, draw()))
        if at - item.enqueued_ms > max_age_ms:
            return done(item, "dead", f"{reason}; gave up after the maximum age")
        return done(item, "retry", reason, at)

    if status is not None and 200 <= status < 300:
        return Plan([done(i, "delivered") for i in items], [])
    if status == 413:
        if len(items) > 1:
            return Plan([], list(items), split=True)
        return Plan([done(items[0], "dead", "payload too large for one request")], [])
    if status == 400:
        message = str(body.get("error", ""))
        if body.get("missing_field") or message.startswith("Invalid API key"):
            reason = f"instance paused: {message or 'missing field ' + str(body['missing_field'])}"
            paused = [done(i, "paused", reason) for i in items]
            return Plan(paused, [], pause_reason=reason)
        bad: dict[int, str] = {}
        for key, label in (
            ("events_with_invalid_fields", "invalid field"),
            ("events_with_missing_fields", "missing field"),
            ("events_with_invalid_id_lengths", "invalid id length"),
        ):
            for i, fld in _indexes(body, key).items():
                bad.setdefault(i, f"{label} {fld}".strip())
        for i in _indexes(body, "silenced_events"):
            bad.setdefault(i, "device silenced by Amplitude")
        if not bad:
            return Plan([later(i, f"400 {message}".strip()) for i in items], [])
        dead = [
            done(items[i], "dead", reason) for i, reason in sorted(bad.items()) if i < len(items)
        ]
        rest = [item for i, item in enumerate(items) if i not in bad]
        return Plan(dead, rest)
    if status == 429:
        quota_users = body.get("exceeded_daily_quota_users") or {}
        quota_devices = body.get("exceeded_daily_quota_devices") or {}
        users = body.get("throttled_users") or {}
        devices = body.get("throttled_devices") or {}
        throttled_idx = set(_indexes(body, "throttled_events"))
        outcomes: list[Outcome] = []
        resend: list[Pending] = []
        for i, item in enumerate(items):
            user, device = item.ids()
            if (user and user in quota_users) or (device and device in quota_devices):
                outcomes.append(done(item, "retry", "daily quota exceeded", next_day_ms(now_ms)))
            elif (user and user in users) or (device and device in devices) or i in throttled_idx:
                outcomes.append(done(item, "retry", "throttled", now_ms + throttle_wait_ms))
            else:
                resend.append(item)
        if not outcomes:
            return Plan([later(i, "429 without throttled ids") for i in items], [])
        return Plan(outcomes, resend)
    reason = f"HTTP {status}" if status is not None else (error or "no response")
    return Plan([later(i, reason) for i in items], [])


def plan_form(
    item: Pending,
    status: int | None,
    body: Mapping[str, Any] | None,
    now_ms: int,
    *,
    request: dict[str, Any] | None = None,
    error: str | None = None,
    backoff: Backoff = RETRY_BACKOFF,
    rng: random.Random | None = None,
    max_age_ms: int = DEFAULT_MAX_AGE_MS,
) -> Plan[Pending]:
    """Decide for one form request (identify, group identify, user map): all or nothing."""
    body = body or {}
    if status == 400:
        message = str(body.get("error", ""))
        response = {"status": status, "body": dict(body)}
        if body.get("missing_field") or message.startswith("Invalid API key"):
            reason = f"instance paused: {message}"
            return Plan(
                [Outcome(item.key, "paused", None, reason, request, response, item.attempts + 1)],
                [],
                pause_reason=reason,
            )
        return Plan(
            [
                Outcome(
                    item.key,
                    "dead",
                    None,
                    f"400 {message}".strip(),
                    request,
                    response,
                    item.attempts + 1,
                )
            ],
            [],
        )
    if status == 429:
        response = {"status": status, "body": dict(body)}
        at = now_ms + IDENTIFY_THROTTLE_WAIT_MS
        return Plan(
            [Outcome(item.key, "retry", at, "throttled", request, response, item.attempts + 1)], []
        )
    plan = plan_events(
        [item],
        status,
        body,
        now_ms,
        request=request,
        error=error,
        backoff=backoff,
        rng=rng,
        max_age_ms=max_age_ms,
    )
    if plan.split:
        return Plan(
            [
                Outcome(
                    item.key, "dead", None, "payload too large", request, None, item.attempts + 1
                )
            ],
            [],
        )
    return plan
