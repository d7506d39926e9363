"""The pure Segment message conversion (``tidings.core.segment``)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tidings.core.errors import InvalidEvent
from tidings.core.segment import format_iso_ms, parse_iso_ms, parse_message

MAX_MS = 253402300799999  # 9999-12-31T23:59:59.999Z


@settings(max_examples=300)
@given(st.integers(0, MAX_MS))
def test_iso_round_trip(ms: int) -> None:
    text = format_iso_ms(ms)
    assert text.endswith("Z")
    assert parse_iso_ms(text, "t") == ms
    assert datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000 == pytest.approx(ms)


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("2024-01-02T03:04:05.678Z", 1704164645678),
        ("2024-01-02T04:04:05.678+01:00", 1704164645678),
        ("2024-01-02T03:04:05.678", 1704164645678),  # no offset: UTC, as Segment reads it
        ("2024-01-02T03:04:05Z", 1704164645000),
    ],
)
def test_iso_parsing(text: str, ms: int) -> None:
    assert parse_iso_ms(text, "t") == ms


@pytest.mark.parametrize("bad", ["", "soon", 5, None, "2024-13-01T00:00:00Z"])
def test_bad_times_name_the_field(bad: object) -> None:
    with pytest.raises(InvalidEvent) as info:
        parse_iso_ms(bad, "batch[2].timestamp")
    assert info.value.field == "batch[2].timestamp"


@settings(max_examples=200)
@given(
    original=st.integers(0, 2**40),
    skew=st.integers(-(10**7), 10**7),
    latency=st.integers(0, 10**5),
)
def test_clock_skew_correction(original: int, skew: int, latency: int) -> None:
    """A device clock off by ``skew`` ms: the corrected time is the true time of the event."""
    true_sent = original + 1_000
    received = true_sent + latency
    message = {
        "type": "track",
        "userId": "u",
        "event": "E",
        "originalTimestamp": format_iso_ms(original + skew + 10**8),
        "sentAt": format_iso_ms(true_sent + skew + 10**8),
    }
    parsed = parse_message(message, msg_type=None, received_ms=received, new_id="n")
    assert parsed.event.timestamp == original + latency


def test_explicit_timestamp_wins_and_arrival_is_the_fallback() -> None:
    base = {"type": "track", "userId": "u", "event": "E"}
    stamped = {
        **base,
        "timestamp": "2024-01-01T00:00:00Z",
        "originalTimestamp": "2020-01-01T00:00:00Z",
    }
    assert (
        parse_message(stamped, msg_type=None, received_ms=5, new_id="n").event.timestamp
        == 1704067200000
    )
    assert parse_message(base, msg_type=None, received_ms=5, new_id="n").event.timestamp == 5


def test_message_is_kept_and_normalised() -> None:
    parsed = parse_message(
        {
            "userId": 42,
            "event": "Order Completed",
            "properties": {"products": [{"sku": "a"}]},
            "writeKey": "wk",
        },
        msg_type="track",
        received_ms=1704067200000,
        new_id="generated-id",
    )
    assert parsed.user_id == "42"
    assert parsed.event.id == "generated-id"
    assert parsed.event.type == "custom"
    assert parsed.message["messageId"] == "generated-id"
    assert parsed.message["receivedAt"] == "2024-01-01T00:00:00.000Z"
    assert parsed.message["properties"] == {"products": [{"sku": "a"}]}
    assert "writeKey" not in parsed.message
    assert parsed.event.properties == {"products": [{"sku": "a"}]}


@pytest.mark.parametrize(
    ("message", "name"),
    [
        ({"type": "page", "userId": "u", "name": "Pricing"}, "Viewed Pricing"),
        ({"type": "page", "userId": "u"}, "Loaded a Page"),
        ({"type": "screen", "userId": "u"}, "Loaded a Screen"),
        ({"type": "identify", "userId": "u", "traits": {"a": 1}}, "$identify"),
        ({"type": "group", "userId": "u", "groupId": 7}, "$groupidentify"),
        ({"type": "alias", "userId": "u", "previousId": "p"}, "$alias"),
    ],
)
def test_event_names(message: dict[str, object], name: str) -> None:
    assert parse_message(message, msg_type=None, received_ms=0, new_id="n").event.name == name
