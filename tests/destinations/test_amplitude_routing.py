"""Routing messages to subscriptions, memoised per destination, and the canonical timestamp."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from amplitude_messages import message
from hypothesis import given, settings
from hypothesis import strategies as st

from tidings.destinations.amplitude import Destination, Settings
from tidings.destinations.amplitude.actions import Subscription
from tidings.destinations.amplitude.delivery import Pending
from tidings.destinations.amplitude.sender import MAX_BYTES, AmplitudeSender, events_body
from tidings.destinations.message import iso_ms

NOW = 1_700_000_000_000


def _names(dest: Destination, msg: dict[str, Any]) -> list[str]:
    return sorted({item.key.split("/")[1] for item in dest.work(msg, NOW).items})


def test_switching_a_subscription_off_takes_effect_at_once() -> None:
    dest = Destination(Settings(api_key="k"))
    assert _names(dest, message(event="Song Played")) == ["Track Calls"]
    track = next(s for s in dest.subscriptions if s.name == "Track Calls")
    track.enabled = False
    assert _names(dest, message(event="Song Played")) == []
    track.enabled = True
    assert _names(dest, message(event="Song Played")) == ["Track Calls"]


def test_a_changed_subscription_list_is_routed_afresh() -> None:
    subs = [Subscription("a", "logEventV2", 'event = "A"')]
    dest = Destination(Settings(api_key="k"), subs)
    assert _names(dest, message(event="B")) == []
    subs[0] = Subscription("b", "logEventV2", 'event = "B"')
    assert _names(dest, message(event="B")) == ["b"]
    subs.append(Subscription("c", "logEventV2", 'type = "track"'))
    assert _names(dest, message(event="B")) == ["b", "c"]


def test_triggers_on_objects_and_typed_values_are_not_confused() -> None:
    """``true`` is not ``1``, and an object-valued field is evaluated, not memoised."""
    subs = [
        Subscription("flag", "logEventV2", "properties.x = true"),
        Subscription("one", "logEventV2", "properties.x = 1"),
        Subscription("has", "logEventV2", "exists(properties.x.y)"),
    ]
    dest = Destination(Settings(api_key="k"), subs)
    assert _names(dest, message(properties={"x": True})) == ["flag"]
    assert _names(dest, message(properties={"x": 1})) == ["one"]
    assert _names(dest, message(properties={"x": {"y": 2}})) == ["has"]
    assert _names(dest, message(properties={"x": {"z": 2}})) == []


@settings(max_examples=200)
@given(st.integers(min_value=-(10**12), max_value=253_402_300_799_999))
def test_iso_ms_is_the_utc_time_with_milliseconds(ms: int) -> None:
    moment = datetime.fromtimestamp(ms // 1000, tz=UTC)
    assert iso_ms(ms) == moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _greedy(sizes: list[int], max_events: int, limit: int) -> list[int]:
    """Batch lengths of the reference rule: fill until the count or the byte limit is hit."""
    out: list[int] = []
    current = size = 0
    for item_size in sizes:
        if current and (current >= max_events or size + item_size > limit):
            out.append(current)
            current = size = 0
        current += 1
        size += item_size
    return [*out, current] if current else out


@pytest.mark.slow
@settings(max_examples=100)
@given(
    st.lists(st.integers(min_value=0, max_value=300), max_size=40),
    st.integers(min_value=1, max_value=12),
)
def test_batches_keep_the_count_and_byte_limits(pads: list[int], max_events: int) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(MAX_BYTES, "httpapi", 1024 + 900)
        _check_batches(pads, max_events)


def _check_batches(pads: list[int], max_events: int) -> None:
    sender = AmplitudeSender(Settings(api_key="k"), max_batch_events=max_events)
    try:
        items = [
            Pending(f"k{i}", NOW, event={"event_type": "E", "pad": "x" * pad})
            for i, pad in enumerate(pads)
        ]
        sizes = [len(orjson.dumps(i.event)) + 1 for i in items]
        pairs = sender._batches("httpapi", items)
        batches = [batch for batch, _ in pairs]
        assert [len(b) for b in batches] == _greedy(sizes, max_events, 900)
        assert [i for b in batches for i in b] == items
        for batch, events_json in pairs:  # an encoding kept for the body is the batch's own
            assert events_json is None or events_json == orjson.dumps([i.event for i in batch])
    finally:
        sender.close()


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


@pytest.mark.slow
@settings(max_examples=100, deadline=None)
@given(
    st.text(min_size=1),
    st.lists(st.dictionaries(st.text(), _JSON, max_size=4), min_size=1, max_size=4),
    st.none() | st.dictionaries(st.text(), st.integers(0, 10), min_size=1, max_size=2),
)
def test_events_body_is_the_body_encoded_whole(
    key: str, events: list[dict[str, object]], options: dict[str, int] | None
) -> None:
    """The request body put together around already encoded events is byte for byte the
    encoding of the whole body."""
    body: dict[str, object] = {"api_key": key, "events": events}
    if options is not None:
        body["options"] = options
    assert events_body(body, orjson.dumps(events)) == orjson.dumps(body)
