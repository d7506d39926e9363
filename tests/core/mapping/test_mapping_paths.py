"""JSON paths: parsing, lookup, and the undefined marker."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tidings.core.errors import InvalidInput
from tidings.core.mapping import UNDEFINED, format_path, get_path, parse_path


@pytest.mark.parametrize(
    ("path", "segments"),
    [
        ("$.a.b", ("a", "b")),
        ("a.b", ("a", "b")),
        ("$.a[0]", ("a", 0)),
        ("$.a[0].b", ("a", 0, "b")),
        (
            '$.integrations["Actions Amplitude"].session_id',
            ("integrations", "Actions Amplitude", "session_id"),
        ),
        (
            "$.integrations.Actions Amplitude.session_id",
            ("integrations", "Actions Amplitude", "session_id"),
        ),
        ("$['x.y']", ("x.y",)),
        ("$", ()),
    ],
)
def test_parse(path: str, segments: tuple[object, ...]) -> None:
    assert parse_path(path) == segments


@pytest.mark.parametrize(
    ("path", "position"), [("$.a..b", 4), ("$.a[", 3), ("$.a[x]", 3), ("$.a.", 4)]
)
def test_bad_paths_name_the_position(path: str, position: int) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_path(path, "mapping.event_type.@path")
    assert err.value.field == "mapping.event_type.@path"
    assert f"position {position}" in err.value.reason


def test_get_path_walks_dicts_and_lists() -> None:
    data = {"a": {"b": [10, {"c": None}]}}
    assert get_path(data, parse_path("$.a.b[0]")) == 10
    assert get_path(data, parse_path("$.a.b.0")) == 10
    assert get_path(data, parse_path("$.a.b[1].c")) is None
    assert get_path(data, parse_path("$.a.b[2]")) is UNDEFINED
    assert get_path(data, parse_path("$.a.x")) is UNDEFINED
    assert get_path(data, parse_path("$.a.b.c")) is UNDEFINED
    assert get_path({"a": "text"}, parse_path("$.a.b")) is UNDEFINED
    assert get_path(data, parse_path("$")) is data


def test_undefined_is_a_falsy_singleton_distinct_from_null() -> None:
    assert not UNDEFINED
    assert UNDEFINED is not None
    assert type(UNDEFINED)() is UNDEFINED
    assert repr(UNDEFINED) == "UNDEFINED"


_key = st.text(
    st.characters(blacklist_characters="[]'\"", blacklist_categories=("Cs",)), min_size=1
)
_segment = st.one_of(st.integers(0, 50), _key.filter(lambda k: not k.isdigit()))


@settings(max_examples=150)
@given(st.lists(_segment, max_size=6))
def test_format_parse_round_trip(segments: list[str | int]) -> None:
    assert parse_path(format_path(tuple(segments))) == tuple(segments)
