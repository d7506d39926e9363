"""The SDK's own pure parts: signing, backoff, clock, gate decisions, the store's bound."""

from __future__ import annotations

import hashlib
import hmac
import random
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from sdk_helpers import settled

from tidings.sdk.gates import GateDecision, GateRegistry
from tidings.sdk.signing import signature, signed_headers
from tidings.sdk.store import KIND_EVENT, DeviceStore
from tidings.sdk.transport import (
    BACKOFF_CAP_S,
    Clock,
    backoff_delay,
    is_pause_status,
    retry_wait_s,
)


def test_signature_covers_method_path_body_timestamp_and_request_id() -> None:
    body = b'{"events":[]}'
    rid = "0b5b8a57-3c2d-4f5e-9a1b-2c3d4e5f6a7b"
    expected = hmac.new(
        b"sk_1", b"POST/api/v1/session" + body + b"1700000000" + rid.encode(), hashlib.sha256
    ).hexdigest()
    assert signature("sk_1", "post", "/api/v1/session", body, "1700000000", rid) == expected
    headers = signed_headers(
        api_key_public="pk_1",
        api_key_secret="sk_1",
        method="POST",
        path_with_query="/api/v1/session",
        body=body,
        timestamp_s=1_700_000_000,
        request_id=rid,
    )
    assert headers["X-Signature"] == expected
    assert (headers["X-Api-Key"], headers["X-Timestamp"], headers["X-Request-Id"]) == (
        "pk_1",
        "1700000000",
        rid,
    )
    for changed in (
        signature("sk_2", "POST", "/api/v1/session", body, "1700000000", rid),
        signature("sk_1", "POST", "/api/v1/session?x=1", body, "1700000000", rid),
        signature("sk_1", "POST", "/api/v1/session", body + b" ", "1700000000", rid),
        signature("sk_1", "POST", "/api/v1/session", body, "1700000001", rid),
        signature("sk_1", "POST", "/api/v1/session", body, "1700000000", rid[:-1] + "c"),
    ):
        assert changed != expected


@settings(max_examples=50)
@given(st.integers(min_value=1, max_value=60), st.integers(min_value=0, max_value=2**32))
def test_backoff_grows_exponentially_with_bounded_jitter(attempt: int, seed: int) -> None:
    rng = random.Random(seed)
    step = min(BACKOFF_CAP_S, 2.0 ** (attempt - 1))
    delay = backoff_delay(attempt, rng=rng)
    assert step / 2 <= delay <= step


@settings(max_examples=50)
@given(
    st.integers(min_value=1, max_value=60),
    st.one_of(st.none(), st.floats(min_value=0, max_value=600)),
    st.integers(min_value=0, max_value=2**32),
)
def test_retry_after_is_a_floor_under_the_backoff(
    attempt: int, retry_after: float | None, seed: int
) -> None:
    """A 503's ``Retry-After`` never shortens the backoff (a fleet would come back in step)."""
    backoff = backoff_delay(attempt, rng=random.Random(seed))
    wait = retry_wait_s(attempt, retry_after, rng=random.Random(seed))
    assert wait == max(backoff, retry_after or 0.0)


@settings(max_examples=50)
@given(
    st.integers(min_value=0, max_value=2**45),
    st.integers(min_value=0, max_value=10_000),
    st.integers(min_value=-(10**9), max_value=10**9),
)
def test_clock_offset_uses_half_the_round_trip(sent: int, rtt: int, skew: int) -> None:
    clock = Clock()
    server_time = sent + rtt // 2 + skew  # the server stamped the midpoint
    clock.observe(sent, sent + rtt, server_time)
    assert abs(clock.offset_ms - skew) <= 1
    assert clock.synced


def test_pause_statuses() -> None:
    assert [s for s in (400, 401, 403, 404, 409, 413, 429, 500, 503) if is_pause_status(s)] == [
        400,
        401,
        403,
        404,
    ]


def test_gate_registry_matches_longest_prefix_and_replaces_same_url() -> None:
    registry = GateRegistry()
    first = registry.register("app://gate/", lambda p, i, r: None, "cancel", 1.0)
    deeper = registry.register("app://gate/paywall", lambda p, i, r: None, "proceed", 1.0)
    gate = registry.match("app://gate/paywall?x=1")
    assert gate is not None and gate.token == deeper
    again = registry.register("app://gate/", lambda p, i, r: None, "cancel", 1.0)
    assert again != first
    assert registry.unregister(first) is False
    assert registry.match("app://other") is None
    assert GateDecision("proceed", "completed").proceed


def test_store_bound_keeps_the_inflight_batch(tmp_path: Path) -> None:
    store = DeviceStore(tmp_path / "s.sqlite3", max_pending=5)
    store.outbox.append([(KIND_EVENT, None, b'{"n":%d}' % i) for i in range(5)])
    batch = settled(store).pending_rows(2)
    store.outbox.inflight_max_seq = batch[-1][0]
    dropped = store.outbox.append([(KIND_EVENT, None, b'{"n":%d}' % i) for i in range(5, 8)])
    assert dropped == 3
    assert store.outbox.dropped() == 3
    left = [body for _, _, body in settled(store).pending_rows(100)]
    assert left == [b'{"n":0}', b'{"n":1}', b'{"n":5}', b'{"n":6}', b'{"n":7}']
    store.outbox.mark_sent(batch[0][0], batch[-1][0], dropped_reported=3)
    assert store.outbox.dropped() == 0
    assert store.outbox.pending == 3
    assert store.outbox.recent_events(10)[0] == b'{"n":7}'
    store.close()
    reopened = DeviceStore(tmp_path / "s.sqlite3", max_pending=5)
    assert reopened.outbox.pending == 3


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.tuples(st.just("append"), st.integers(min_value=1, max_value=6)),
            st.tuples(st.just("send"), st.integers(min_value=1, max_value=8)),
        ),
        max_size=25,
    )
)
def test_store_accounts_for_every_row(ops: list[tuple[str, int]]) -> None:
    """pending + sent-and-counted + dropped always equals what was appended; order is kept."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        store = DeviceStore(Path(tmp) / "s.sqlite3", max_pending=10, keep_recent=3)
        appended = 0
        delivered: list[int] = []
        dropped_total = 0
        for op, n in ops:
            if op == "append":
                rows = [(KIND_EVENT, None, b"%d" % (appended + i)) for i in range(n)]
                dropped_total += store.outbox.append(rows)
                appended += n
            else:
                batch = settled(store).pending_rows(n)
                if batch:
                    store.outbox.mark_sent(batch[0][0], batch[-1][0], 0)
                    delivered += [int(body) for _, _, body in batch]
            assert store.outbox.pending + len(delivered) + dropped_total == appended
            assert store.outbox.dropped() == dropped_total
        pending = [int(body) for _, _, body in settled(store).pending_rows(1000)]
        assert delivered == sorted(delivered)
        assert pending == sorted(pending)
        assert not set(delivered) & set(pending)
        store.close()


def test_naming_hints_follow_the_recommendations() -> None:
    from tidings.sdk.conventions import convention_hints

    assert convention_hints("PurchaseCompleted", {"order_total": 1, "plan": "x"}) == []
    hints = convention_hints("purchase completed", {"orderTotal": 1})
    assert len(hints) == 2
    assert "PascalCase" in hints[0] and "snake_case" in hints[1]
