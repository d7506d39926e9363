"""The mapping language: literals, @path, @template, @if, @arrayPath, @literal, nesting."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tidings.core.errors import InvalidInput
from tidings.core.mapping import UNDEFINED, compile_mapping, resolve

MESSAGE: dict[str, Any] = {
    "type": "page",
    "name": "Home",
    "userId": None,
    "properties": {
        "title": "",
        "count": 3,
        "products": [
            {"price": 2, "quantity": 3, "sku": "x"},
            {"price": 5, "productId": "p2"},
        ],
        "flag": True,
    },
    "context": {"campaign": {"source": "news"}},
}


def test_path_reads_values_and_missing_is_undefined() -> None:
    assert resolve({"@path": "$.name"}, MESSAGE) == "Home"
    assert resolve({"@path": "$.properties.products[1].price"}, MESSAGE) == 5
    assert resolve({"@path": "$.nope"}, MESSAGE) is UNDEFINED


def test_objects_drop_undefined_and_keep_null() -> None:
    mapping = {"a": {"@path": "$.nope"}, "b": {"@path": "$.userId"}, "c": {"d": {"@path": "$.x"}}}
    assert resolve(mapping, MESSAGE) == {"b": None, "c": {}}


def test_lists_turn_undefined_into_null() -> None:
    assert resolve([{"@path": "$.nope"}, 1], MESSAGE) == [None, 1]


def test_template_renders_paths_and_blanks_missing_values() -> None:
    assert resolve({"@template": "Viewed {{name}}"}, MESSAGE) == "Viewed Home"
    assert resolve({"@template": "Viewed {{missing}}"}, MESSAGE) == "Viewed "
    assert (
        resolve({"@template": "{{ properties.count }}/{{{properties.flag}}}"}, MESSAGE) == "3/true"
    )
    assert resolve({"@template": "{{userId}}"}, MESSAGE) == ""
    assert resolve({"@template": "no placeholders"}, MESSAGE) == "no placeholders"


def test_template_renders_numbers_like_javascript() -> None:
    assert (
        resolve({"@template": "{{a}} {{b}} {{c}}"}, {"a": 2.0, "b": 2.5, "c": [1]}) == "2 2.5 [1]"
    )


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"exists": {"@path": "$.name"}}, "yes"),
        ({"exists": {"@path": "$.properties.title"}}, "yes"),
        ({"exists": {"@path": "$.userId"}}, "no"),
        ({"exists": {"@path": "$.missing"}}, "no"),
        ({"blank": {"@path": "$.properties.title"}}, "no"),
        ({"blank": {"@path": "$.name"}}, "yes"),
        ({"blank": {"@path": "$.userId"}}, "no"),
        ({"true": {"@path": "$.properties.flag"}}, "yes"),
        ({"true": "TRUE"}, "yes"),
        ({"true": {"@path": "$.properties.count"}}, "no"),
        ({"true": {"@path": "$.missing"}}, "no"),
        ({"value": {"@path": "$.type"}, "is": "page"}, "yes"),
        ({"value": {"@path": "$.type"}, "is_not": "page"}, "no"),
        ({"value": {"@path": "$.properties.count"}, "is": 3}, "yes"),
        ({"value": {"@path": "$.properties.flag"}, "is": 1}, "no"),
        ({"value": {"@path": "$.missing"}, "is_not": "x"}, "yes"),
    ],
)
def test_if_conditions(condition: dict[str, Any], expected: str) -> None:
    assert resolve({"@if": {**condition, "then": "yes", "else": "no"}}, MESSAGE) == expected


def test_if_without_branch_is_undefined() -> None:
    assert resolve({"x": {"@if": {"exists": {"@path": "$.missing"}, "then": 1}}}, MESSAGE) == {}
    assert resolve({"@if": {"exists": {"@path": "$.name"}, "else": 1}}, MESSAGE) is UNDEFINED


def test_if_branches_are_mappings() -> None:
    mapping = {"@if": {"exists": {"@path": "$.name"}, "then": {"@template": "V {{name}}"}}}
    assert resolve(mapping, MESSAGE) == "V Home"


def test_array_path_maps_each_item_through_the_shape() -> None:
    shape = {"price": {"@path": "$.price"}, "productId": {"@path": "$.productId"}}
    got = resolve({"@arrayPath": ["$.properties.products", shape]}, MESSAGE)
    assert got == [{"price": 2}, {"price": 5, "productId": "p2"}]


def test_array_path_without_shape_or_on_scalars_returns_the_value() -> None:
    products = MESSAGE["properties"]["products"]
    assert resolve({"@arrayPath": ["$.properties.products"]}, MESSAGE) == products
    assert resolve({"@arrayPath": ["$.name", {"a": 1}]}, MESSAGE) == "Home"
    assert resolve({"@arrayPath": ["$.missing", {"a": 1}]}, MESSAGE) is UNDEFINED
    assert resolve(
        {"@arrayPath": ["$.context.campaign", {"s": {"@path": "$.source"}}]}, MESSAGE
    ) == [{"s": "news"}]


def test_literal_and_dynamic_path() -> None:
    assert resolve({"@literal": {"a": 1}}, MESSAGE) == {"a": 1}
    assert resolve({"@path": {"@template": "$.{{type}}"}}, {"type": "name", "name": "n"}) == "n"


@pytest.mark.parametrize(
    ("mapping", "field"),
    [
        ({"@nope": 1}, "mapping.@nope"),
        ({"@path": "$.a", "other": 1}, "mapping"),
        ({"@path": 3}, "mapping.@path"),
        ({"a": {"@template": 1}}, "mapping.a.@template"),
        ({"@template": "{{a"}, "mapping.@template"),
        ({"@if": {"then": 1}}, "mapping.@if"),
        ({"@if": {"exists": 1, "blank": 2}}, "mapping.@if"),
        ({"@if": {"value": 1}}, "mapping.@if"),
        ({"@if": {"exists": 1, "when": 2}}, "mapping.@if"),
        ({"@if": [1]}, "mapping.@if"),
        ({"@arrayPath": "x"}, "mapping.@arrayPath"),
        ({"@arrayPath": ["$.a", 3]}, "mapping.@arrayPath[1]"),
        ({"x": [{"@path": "$.a..b"}]}, "mapping.x[0].@path"),
    ],
)
def test_bad_mappings_name_the_field(mapping: Any, field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        compile_mapping(mapping)
    assert err.value.field == field


def test_compiled_mapping_does_not_mutate_the_mapping_or_the_message() -> None:
    mapping = {"a": {"@path": "$.properties"}, "b": [1, {"@path": "$.name"}]}
    before = repr(mapping), repr(MESSAGE)
    compiled = compile_mapping(mapping)
    compiled(MESSAGE)
    compiled(MESSAGE)
    assert (repr(mapping), repr(MESSAGE)) == before


# --- properties ------------------------------------------------------------------------------

_scalar = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8)
)
_plain_key = st.text(max_size=6).filter(lambda k: not k.startswith("@"))
literals = st.recursive(
    _scalar,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(_plain_key, children, max_size=4)
    ),
    max_leaves=20,
)
_paths = st.sampled_from(["$.a", "$.b.c", "$.missing", "$.b", "$.list[0]", "$.list[5]", "$.n"])
mappings = st.recursive(
    st.one_of(_scalar, _paths.map(lambda p: {"@path": p})),
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(_plain_key, children, max_size=3),
        st.builds(
            lambda c, t, e: {"@if": {"exists": c, "then": t, "else": e}},
            children,
            children,
            children,
        ),
        st.builds(
            lambda p, s: {"@arrayPath": [p, s]},
            _paths,
            st.dictionaries(_plain_key, children, max_size=2),
        ),
    ),
    max_leaves=15,
)
PAYLOAD = {"a": 1, "b": {"c": "x"}, "list": [{"a": 2}, {"b": {"c": None}}], "n": None}


@settings(max_examples=150)
@given(literals)
def test_literal_mappings_are_identity(value: Any) -> None:
    assert resolve(value, PAYLOAD) == value


def _has_undefined(value: Any) -> bool:
    if value is UNDEFINED:
        return True
    if isinstance(value, dict):
        return any(_has_undefined(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_undefined(v) for v in value)
    return False


@settings(max_examples=150)
@given(mappings)
def test_resolution_never_leaves_an_undefined_inside(mapping: Any) -> None:
    out = resolve({"root": mapping}, PAYLOAD)
    assert not _has_undefined(out)


@settings(max_examples=100)
@given(mappings)
def test_resolution_is_deterministic(mapping: Any) -> None:
    compiled = compile_mapping(mapping)
    assert repr(compiled(PAYLOAD)) == repr(compiled(PAYLOAD))
