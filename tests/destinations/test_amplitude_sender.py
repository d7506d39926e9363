"""The sender against the local Amplitude stand-in: batching, partial failures, retries, limits."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from amplitude_standin import Fault, Standin

from tidings.destinations.amplitude import Settings
from tidings.destinations.amplitude.delivery import DAY_MS, Outcome, Pending
from tidings.destinations.amplitude.sender import AmplitudeSender
from tidings.destinations.request import Request

NOW = 1_700_000_000_000


@pytest.fixture
def amp() -> Iterator[Standin]:
    with Standin() as server:
        yield server


def make_sender(amp: Standin, key: str = "test-key", **kw: Any) -> AmplitudeSender:
    settings = Settings(api_key=key, base_url=amp.url)
    return AmplitudeSender(settings, clock=lambda: NOW, rng=random.Random(7), **kw)


def event(n: int, device: str = "device-0001", **extra: Any) -> Pending:
    body = {
        "event_type": "E",
        "device_id": device,
        "insert_id": f"ins-{n:04d}",
        "time": NOW,
        **extra,
    }
    return Pending(key=f"k{n}", enqueued_ms=NOW, event=body)


def by_key(outcomes: list[Outcome]) -> dict[str, Outcome]:
    out = {o.key: o for o in outcomes}
    assert len(out) == len(outcomes)
    return out


def test_delivers_a_batch(amp: Standin) -> None:
    items = [event(i, device=f"device-{i:04d}") for i in range(5)]
    outcomes = by_key(make_sender(amp).send(items))
    assert {o.kind for o in outcomes.values()} == {"delivered"}
    assert [e["insert_id"] for e in amp.accepted] == [f"ins-{i:04d}" for i in range(5)]
    assert amp.state.requests == [("/2/httpapi", 200)]


def test_send_counted_reports_only_what_was_not_delivered(amp: Standin) -> None:
    """The consumer's form of ``send``: a count for the delivered events (sent in one body the
    stand-in parses), an outcome for each of the others, the same as ``send`` gives them."""
    items = [
        event(0),
        event(1, time="2021-01-01"),
        event(2, device="device-0002"),
        Pending("k3", NOW, {"device_id": "device-0003", "insert_id": "x"}),
        event(4, device="device-0004", event_properties={"ü": [1.5, None, True]}),
    ]
    delivered, outcomes = make_sender(amp).send_counted(items)
    assert delivered == 3
    assert {o.key: (o.kind, o.reason) for o in outcomes} == {
        "k1": ("dead", "invalid field time"),
        "k3": ("dead", "missing field event_type"),
    }
    assert sorted(e["insert_id"] for e in amp.accepted) == ["ins-0000", "ins-0002", "ins-0004"]
    assert amp.accepted[-1]["event_properties"] == {"ü": [1.5, None, True]}


def test_batches_respect_the_event_count(amp: Standin) -> None:
    items = [event(i, device=f"device-{i:04d}") for i in range(7)]
    make_sender(amp, max_batch_events=3).send(items)
    assert [p for p, _ in amp.state.requests] == ["/2/httpapi"] * 3
    assert len(amp.accepted) == 7


def test_partial_400_dead_letters_the_bad_events_and_delivers_the_rest(amp: Standin) -> None:
    items = [
        event(0),
        event(1, time="2021-01-01"),
        event(2, device="abc"),
        Pending("k3", NOW, {"device_id": "device-0003", "insert_id": "x"}),
    ]
    outcomes = by_key(make_sender(amp).send(items))
    assert outcomes["k0"].kind == "delivered"
    assert (outcomes["k1"].kind, outcomes["k1"].reason) == ("dead", "invalid field time")
    assert (outcomes["k2"].kind, outcomes["k2"].reason) == ("dead", "invalid id length device_id")
    assert (outcomes["k3"].kind, outcomes["k3"].reason) == ("dead", "missing field event_type")
    dead = outcomes["k1"]
    assert dead.request is not None and dead.request["url"].endswith("/2/httpapi")
    assert dead.response is not None and dead.response["status"] == 400
    assert [e["insert_id"] for e in amp.accepted] == ["ins-0000"]


def test_silenced_events_are_dead_lettered(amp: Standin) -> None:
    amp.fail_next(
        Fault(
            400,
            {
                "code": 400,
                "error": "Events silenced for device_id",
                "silenced_events": [1],
                "silenced_devices": ["device-0001"],
            },
        )
    )
    outcomes = by_key(make_sender(amp).send([event(0, device="device-0000"), event(1)]))
    assert outcomes["k1"].kind == "dead"
    assert outcomes["k0"].kind == "delivered"


def test_invalid_api_key_pauses_the_instance_and_drops_nothing(amp: Standin) -> None:
    sender = make_sender(amp, key="wrong-key")
    outcomes = sender.send([event(0), event(1, device="device-0002")])
    assert {o.kind for o in outcomes} == {"paused"}
    assert sender.paused is not None and "Invalid API key" in sender.paused
    later = sender.send([event(2)])
    assert [o.kind for o in later] == ["paused"]
    assert len(amp.state.requests) == 1
    sender.settings = Settings(api_key="test-key", base_url=amp.url)
    sender.resume()
    assert [o.kind for o in sender.send([event(2)])] == ["delivered"]


def test_413_splits_the_batch(amp: Standin) -> None:
    amp.fail_next(Fault(413, {"code": 413, "error": "Payload too large"}))
    items = [event(i, device=f"device-{i:04d}") for i in range(4)]
    outcomes = make_sender(amp).send(items)
    assert {o.kind for o in outcomes} == {"delivered"}
    assert [s for _, s in amp.state.requests] == [413, 200, 200]


def test_413_for_a_single_event_dead_letters_it(amp: Standin) -> None:
    amp.fail_next(Fault(413, {"code": 413, "error": "Payload too large"}))
    (outcome,) = make_sender(amp).send([event(0)])
    assert outcome.kind == "dead"


def test_429_holds_throttled_devices_and_sends_the_others(amp: Standin) -> None:
    amp.fail_next(
        Fault(
            429,
            {
                "code": 429,
                "error": "Too many requests for some devices and users",
                "throttled_devices": {"device-0001": 31},
                "throttled_users": {"user-00002": 40},
                "exceeded_daily_quota_devices": {"device-0003": 500100},
            },
        )
    )
    items = [
        event(0, device="device-0000"),
        event(1, device="device-0001"),
        event(2, device="device-0002", user_id="user-00002"),
        event(3, device="device-0003"),
    ]
    outcomes = by_key(make_sender(amp).send(items))
    assert outcomes["k0"].kind == "delivered"
    assert (outcomes["k1"].kind, outcomes["k1"].retry_at_ms) == ("retry", NOW + 30_000)
    assert (outcomes["k2"].kind, outcomes["k2"].retry_at_ms) == ("retry", NOW + 30_000)
    assert outcomes["k3"].kind == "retry"
    assert outcomes["k3"].retry_at_ms == (NOW // DAY_MS + 1) * DAY_MS
    assert [e["insert_id"] for e in amp.accepted] == ["ins-0000"]


@pytest.mark.parametrize("fault", [Fault(500), Fault(503), Fault(reset=True), Fault(408)])
def test_server_errors_back_off(amp: Standin, fault: Fault) -> None:
    amp.fail_next(fault)
    (outcome,) = make_sender(amp).send([event(0)])
    assert outcome.kind == "retry"
    assert outcome.retry_at_ms is not None and NOW + 500 <= outcome.retry_at_ms <= NOW + 1000
    assert outcome.attempts == 1


def test_backoff_grows_with_attempts_and_gives_up_after_max_age(amp: Standin) -> None:
    amp.fail_next(Fault(500), Fault(500))
    item = Pending("k", NOW - 1000, {"event_type": "E", "device_id": "device-0001"}, attempts=6)
    (outcome,) = make_sender(amp).send([item])
    assert outcome.retry_at_ms is not None and outcome.retry_at_ms >= NOW + 32_000
    old = Pending("old", NOW - 86_400_000, {"event_type": "E", "device_id": "device-0001"})
    (dead,) = make_sender(amp).send([old])
    assert dead.kind == "dead"
    assert "maximum age" in dead.reason
    assert dead.response is not None and dead.response["status"] == 500


def test_timeouts_are_retried(amp: Standin) -> None:
    amp.fail_next(Fault(delay_s=0.5))
    sender = make_sender(amp, client=httpx.Client(timeout=0.05))
    (outcome,) = sender.send([event(0)])
    assert outcome.kind == "retry"
    assert "timeout" in outcome.reason


def test_retry_after_an_ambiguous_500_does_not_double_count(amp: Standin) -> None:
    amp.fail_next(Fault(500, accept_first=True))
    sender = make_sender(amp)
    (first,) = sender.send([event(0)])
    assert first.kind == "retry"
    (second,) = sender.send([event(0)])
    assert second.kind == "delivered"
    assert len(amp.accepted) == 1


def test_client_side_limiter_keeps_a_device_under_30_per_second(amp: Standin) -> None:
    items = [event(i) for i in range(40)]
    outcomes = make_sender(amp).send(items)
    kinds = [o.kind for o in sorted(outcomes, key=lambda o: int(o.key[1:]))]
    assert kinds == ["delivered"] * 30 + ["retry"] * 10
    assert all(o.reason == "client-side rate limit" for o in outcomes if o.kind == "retry")
    assert len(amp.accepted) == 30
    assert 429 not in [s for _, s in amp.state.requests]


def test_standin_enforces_30_events_per_second_per_device(amp: Standin) -> None:
    amp.state.clock = lambda: 100.0
    body = {
        "api_key": "test-key",
        "events": [
            {"event_type": "E", "device_id": "device-0001", "insert_id": str(i)} for i in range(31)
        ],
    }
    response = httpx.post(f"{amp.url}/2/httpapi", json=body)
    assert response.status_code == 429
    assert response.json()["throttled_devices"] == {"device-0001": 31}
    assert response.json()["throttled_events"] == [30]


def test_standin_enforces_request_limits(amp: Standin) -> None:
    too_many = {
        "api_key": "test-key",
        "events": [{"event_type": "E", "device_id": "device-0001"}] * 2000,
    }
    assert httpx.post(f"{amp.url}/batch", json=too_many).status_code == 413
    big = {
        "api_key": "test-key",
        "events": [{"event_type": "x" * 1_000_000, "device_id": "device-0001"}],
    }
    assert httpx.post(f"{amp.url}/2/httpapi", json=big).status_code == 413
    missing = httpx.post(f"{amp.url}/2/httpapi", json={"events": []})
    assert missing.json()["missing_field"] == "api_key"
    bad_id = {"api_key": "test-key", "events": [{"event_type": "E", "device_id": "null"}]}
    assert httpx.post(f"{amp.url}/2/httpapi", json=bad_id).json()["events_with_invalid_fields"] == {
        "device_id": [0]
    }


def test_form_requests_are_sent_whole(amp: Standin) -> None:
    settings = Settings(api_key="test-key", base_url=amp.url)
    request = Request(
        "POST",
        settings.url("identify"),
        form={"api_key": "test-key", "identification": '{"user_id": "user-00001"}'},
    )
    sender = make_sender(amp)
    (outcome,) = sender.send([Pending("f1", NOW, request=request)])
    assert outcome.kind == "delivered"
    assert amp.state.identifications == [{"path": "/identify", "user_id": "user-00001"}]
    broken = Request(
        "POST", settings.url("identify"), form={"api_key": "test-key", "identification": "{"}
    )
    (dead,) = sender.send([Pending("f2", NOW, request=broken)])
    assert dead.kind == "dead"
    amp.fail_next(Fault(429, {"code": 429, "error": "throttled"}))
    (throttled,) = sender.send([Pending("f3", NOW, request=request)])
    assert (throttled.kind, throttled.retry_at_ms) == ("retry", NOW + 15_000)
