"""FQL triggers: parsing, evaluation, errors with positions, print/parse round trips."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tidings.core.errors import InvalidInput
from tidings.core.mapping import AllOf, AnyOf, Compare, Exists, Trigger, parse_trigger

TRACK = {
    "type": "track",
    "event": "Order Completed",
    "properties": {"a": {"b": "v"}, "n": 3, "z": None},
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('type = "track"', True),
        ('type = "identify"', False),
        ('event = "Order Completed"', True),
        ('event != "Order Completed"', False),
        ('event != "Other"', True),
        ('properties.a.b = "v"', True),
        ("properties.n = 3", True),
        ("properties.n = 3.0", True),
        ('properties.n = "3"', False),
        ("properties.z = null", True),
        ("exists(properties.a)", True),
        ("exists(properties.z)", False),
        ("exists(properties.missing)", False),
        ('properties.missing != "x"', True),
        ('type = "track" and event != "Order Completed"', False),
        ('type = "track" and event = "Order Completed"', True),
        ('type = "page" or type = "track"', True),
        ('type = "page" or (type = "track" and exists(properties.a))', True),
        ('(type = "page" or type = "track") and event = "X"', False),
        ('type = "page" or type = "track" and event = "X"', False),
        ('type = "track" or type = "page" and event = "X"', True),
    ],
)
def test_evaluation(text: str, expected: bool) -> None:
    assert parse_trigger(text)(TRACK) is expected


def test_literal_forms() -> None:
    assert parse_trigger("properties.f = false")({"properties": {"f": False}})
    assert not parse_trigger("properties.f = 0")({"properties": {"f": False}})
    assert parse_trigger("properties.x = -1.5")({"properties": {"x": -1.5}})
    assert parse_trigger('event = "say \\"hi\\""')({"event": 'say "hi"'})


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("", 0),
        ('type = "track" and', 18),
        ('type "track"', 5),
        ('type = "track', 7),
        ("type = track", 7),
        ('(type = "track"', 15),
        ('type = "track")', 14),
        ("exists(type", 11),
        ('type = "a" # x', 11),
        ("exists()", 7),
        ('properties..a = "x"', 0),
        ('type = "a" type = "b"', 11),
    ],
)
def test_errors_name_the_position(text: str, position: int) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_trigger(text)
    assert err.value.field == "trigger"
    assert f"position {position}:" in err.value.reason


def test_and_binds_tighter_than_or_in_the_tree() -> None:
    tree = parse_trigger('type = "a" or type = "b" and event = "c"')
    assert isinstance(tree, AnyOf)
    assert isinstance(tree.terms[1], AllOf)


_name = st.from_regex(r"[a-z_][a-z0-9_]{0,5}", fullmatch=True).filter(
    lambda s: s not in {"and", "or", "exists", "true", "false", "null"}
)
_path = st.lists(_name, min_size=1, max_size=3).map(tuple)
_literal = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-1000, 1000),
    st.text(max_size=6),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
)
_leaf = st.one_of(
    st.builds(Compare, _path, _literal, st.booleans()),
    st.builds(Exists, _path),
)


def _combine(children: st.SearchStrategy[Trigger]) -> st.SearchStrategy[Trigger]:
    def flat(kind: Any, terms: list[Trigger]) -> Trigger:
        out: list[Trigger] = []
        for t in terms:
            out.extend(t.terms if isinstance(t, kind) else [t])
        return kind(tuple(out))

    return st.one_of(
        st.lists(children, min_size=2, max_size=3).map(lambda ts: flat(AllOf, ts)),
        st.lists(children, min_size=2, max_size=3).map(lambda ts: flat(AnyOf, ts)),
    )


triggers = st.recursive(_leaf, _combine, max_leaves=8)


@pytest.mark.slow
@settings(max_examples=200)
@given(triggers)
def test_print_parse_round_trip(tree: Trigger) -> None:
    assert parse_trigger(str(tree)) == tree


@settings(max_examples=100)
@given(triggers, st.sampled_from([TRACK, {"type": "page"}, {}]))
def test_printed_trigger_evaluates_the_same(tree: Trigger, message: dict[str, Any]) -> None:
    assert parse_trigger(str(tree))(message) == tree(message)
