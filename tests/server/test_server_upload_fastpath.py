"""The plain-custom-event shortcut of ``validate_event`` gives the full rules' answer.

``validate_event`` accepts the common event with a few type tests and hands everything else to
the full validation; for any input, both must agree on the stored form or on the error.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tidings.core.bounds import TimeWindow
from tidings.core.errors import InvalidInput
from tidings.core.events import SYSTEM_EVENT_NAMES
from tidings.server.upload_items import _validate_event_fully, validate_event

pytestmark = pytest.mark.slow

_texts = st.one_of(
    st.text(max_size=4),
    st.text(min_size=120, max_size=140),
    st.text(min_size=250, max_size=260),
    st.sampled_from(sorted(SYSTEM_EVENT_NAMES)),
)
_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.floats(allow_nan=True, allow_infinity=True),
    _texts,
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
_events = st.dictionaries(
    st.sampled_from(["id", "name", "type", "timestamp", "sessionId", "properties", "extra"]),
    st.one_of(
        _values,
        st.sampled_from(["custom", "system"]),
        st.integers(min_value=-1, max_value=2**53 + 1),
        st.dictionaries(st.text(max_size=300), _values, max_size=4),
    ),
)


WINDOW = TimeWindow(0, 2**53 - 1)
"""Times are not what these tests are about: any non-negative safe integer is in range."""


def _answer(validate: Any, item: object) -> tuple[str, Any]:
    try:
        return ("ok", validate(item, WINDOW))
    except InvalidInput as exc:
        return ("error", (exc.field, exc.reason))


@settings(max_examples=600)
@given(_events)
def test_the_shortcut_agrees_with_the_full_rules(item: dict[str, Any]) -> None:
    assert _answer(validate_event, item) == _answer(_validate_event_fully, item)


@settings(max_examples=300)
@given(
    st.text(min_size=1, max_size=128),
    st.text(min_size=1, max_size=255).filter(lambda n: n not in SYSTEM_EVENT_NAMES),
    st.integers(min_value=0, max_value=2**53 - 1),
    st.one_of(st.none(), st.text(max_size=128)),
    st.dictionaries(
        st.text(min_size=1, max_size=20),
        st.one_of(st.booleans(), st.integers(-(2**63), 2**63 - 1), st.text(max_size=50)),
        max_size=5,
    ),
)
def test_valid_custom_events_are_stored_as_sent(
    event_id: str, name: str, ts: int, session_id: str | None, props: dict[str, Any]
) -> None:
    stored_form = {
        "id": event_id,
        "name": name,
        "type": "custom",
        "timestamp": ts,
        "sessionId": session_id,
        "properties": props,
    }
    item = {**stored_form, "ignored": 1}
    stored = validate_event(item, WINDOW)
    assert stored == stored_form
    assert stored == _validate_event_fully(item, WINDOW)
