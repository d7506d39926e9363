"""Pure delivery decisions and the client-side limiter."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from tidings.core.backoff import Backoff
from tidings.destinations.amplitude.delivery import (
    BatchPolicy,
    Pending,
    next_day_ms,
    plan_events,
)
from tidings.destinations.amplitude.limiter import RateLimiter

NOW = 1_700_000_000_000


def items(n: int) -> list[Pending]:
    return [Pending(f"k{i}", NOW, {"event_type": "E", "device_id": f"d{i}"}) for i in range(n)]


def test_missing_field_pauses() -> None:
    plan = plan_events(items(2), 400, {"code": 400, "missing_field": "api_key"}, NOW)
    assert plan.pause_reason is not None
    assert {o.kind for o in plan.outcomes} == {"paused"}


def test_400_without_indexes_backs_off_everything() -> None:
    plan = plan_events(items(2), 400, {"code": 400, "error": "Invalid event JSON"}, NOW)
    assert {o.kind for o in plan.outcomes} == {"retry"}
    assert plan.resend_now == []


def test_429_without_ids_backs_off() -> None:
    plan = plan_events(items(1), 429, {"code": 429}, NOW)
    assert plan.outcomes[0].kind == "retry"


def test_next_day() -> None:
    assert next_day_ms(0) == 86_400_000
    assert next_day_ms(86_400_000) == 172_800_000


def test_backoff_is_capped_and_jittered() -> None:
    backoff, rng = Backoff(1000, 10_000), random.Random(1)
    delays = [backoff.delay(a, rng.random()) for a in range(10)]
    assert all(500 <= d <= 10_000 for d in delays)
    assert delays[-1] >= 5_000


_status = st.sampled_from([200, 400, 413, 429, 500, 503, None])
_body = st.fixed_dictionaries(
    {},
    optional={
        "events_with_invalid_fields": st.dictionaries(
            st.sampled_from(["time", "x"]), st.lists(st.integers(0, 6))
        ),
        "silenced_events": st.lists(st.integers(0, 6)),
        "throttled_devices": st.dictionaries(st.sampled_from(["d0", "d1", "d9"]), st.integers()),
        "exceeded_daily_quota_devices": st.dictionaries(
            st.sampled_from(["d2", "d3"]), st.integers()
        ),
        "throttled_events": st.lists(st.integers(0, 6)),
    },
)


@settings(max_examples=150)
@given(st.integers(1, 6), _status, _body)
def test_every_item_gets_one_decision(n: int, status: int | None, body: dict[str, object]) -> None:
    batch = items(n)
    plan = plan_events(batch, status, body, NOW, error="boom" if status is None else None)
    decided = [o.key for o in plan.outcomes] + [i.key for i in plan.resend_now]
    if plan.split:
        assert decided == [i.key for i in batch] and n > 1
    else:
        assert sorted(decided) == sorted(i.key for i in batch)
    for outcome in plan.outcomes:
        if outcome.kind == "retry":
            assert outcome.retry_at_ms is not None and outcome.retry_at_ms >= NOW
        if outcome.kind == "dead":
            assert outcome.reason


def test_limiter_allows_a_burst_then_waits_for_the_window() -> None:
    limiter = RateLimiter(per_second=30)
    assert [limiter.admit(("d",), NOW) for _ in range(30)] == [0] * 30
    wait = limiter.admit(("d",), NOW + 400)
    assert wait == 600  # the burst leaves the one-second window at NOW + 1000
    assert limiter.admit(("d",), NOW + 400 + wait) == 0
    assert limiter.admit(("other",), NOW) == 0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 400), st.sampled_from(["a", "b", "c"])), max_size=200))
def test_limiter_never_admits_more_than_the_rate_in_any_window(
    steps: list[tuple[int, str]],
) -> None:
    """Amplitude counts over a sliding window: no second may hold more than the rate."""
    limiter = RateLimiter(per_second=5)
    now = NOW
    admitted: dict[str, list[int]] = {}
    for gap, key in steps:
        now += gap
        if limiter.admit((key,), now) == 0:
            admitted.setdefault(key, []).append(now)
    for times in admitted.values():
        for i, t in enumerate(times):
            assert sum(1 for u in times[i:] if u < t + 1000) <= 5


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 400), st.sampled_from(["a", "b", "c"])), max_size=200))
def test_limiter_one_id_shortcut_answers_as_the_general_rule(
    steps: list[tuple[int, str]],
) -> None:
    """A single id takes a shortcut; an id beside an absent one takes the general path: the
    waits they answer must be the same, step by step."""
    short, general = RateLimiter(per_second=5), RateLimiter(per_second=5)
    now = NOW
    for gap, key in steps:
        now += gap
        assert short.admit((key,), now) == general.admit((key, None), now)


def test_limiter_takes_all_tokens_or_none() -> None:
    limiter = RateLimiter(per_second=1)
    assert limiter.admit(("u", "d"), NOW) == 0
    assert limiter.admit(("u", "d2"), NOW) > 0
    assert limiter.admit(("d2",), NOW) == 0


def test_batch_policy_flushes_on_size_or_age() -> None:
    policy = BatchPolicy(max_events=3, max_wait_ms=1000)
    assert not policy.should_flush(0, None, NOW)
    assert not policy.should_flush(2, NOW, NOW + 999)
    assert policy.should_flush(2, NOW, NOW + 1000)
    assert policy.should_flush(3, NOW, NOW)
