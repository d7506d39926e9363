"""The specialised fast paths of compiled mappings agree with the general ones they replace."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tidings.core.errors import InvalidInput
from tidings.core.mapping import UNDEFINED, CompiledFields, Field, coerce, compile_mapping
from tidings.core.mapping.paths import compile_getter, get_path

KEYS = st.sampled_from(["a", "b", "c", "0"])
SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=3)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
    max_leaves=12,
)


@settings(max_examples=200)
@given(st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=5), JSON)
def test_compiled_getters_agree_with_the_general_walk(path: list[str], data: Any) -> None:
    """Unrolled getters (one to three keys) and the loop read exactly what ``get_path`` reads."""
    segments = tuple(path)
    assert compile_getter(segments)(data) is get_path(data, segments)


def _field_types() -> st.SearchStrategy[Field]:
    kinds = st.sampled_from(
        ["string", "integer", "number", "boolean", "object", "array", "datetime", "any"]
    )
    return st.builds(
        lambda kind, allow_null, props: Field(
            "f", kind, {"@path": "$.v"}, allow_null, properties=props if kind == "object" else None
        ),
        kinds,
        st.booleans(),
        st.none() | st.just(("a",)),
    )


@settings(max_examples=300)
@given(_field_types(), JSON)
def test_fields_skip_coercion_only_where_coercion_changes_nothing(f: Field, value: Any) -> None:
    """``apply`` equals resolving then :func:`coerce` (same value, same error, same omission)."""
    try:
        expected: Any = coerce(value, f)
    except Exception as exc:
        expected = type(exc)
    try:
        got: Any = CompiledFields((f,)).apply({"v": value}).get("f", UNDEFINED)
    except Exception as exc:
        got = type(exc)
    assert type(got) is type(expected)
    assert got is expected or got == expected or (_nan(got) and _nan(expected))


def _nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def test_a_required_field_without_mapping_still_refuses_every_message() -> None:
    with pytest.raises(InvalidInput, match="is required"):
        CompiledFields((Field("f", "string", required=True),)).apply({})


FIRST = {"@if": {"exists": {"@path": "$.a"}, "then": {"@path": "$.a"}, "else": {"@path": "$.b"}}}


@settings(max_examples=150)
@given(st.dictionaries(st.sampled_from(["a", "b"]), JSON, max_size=2))
def test_exists_then_same_path_reads_as_the_general_if(payload: dict[str, Any]) -> None:
    """The ``first of P, Q`` form gives what the general ``@if`` rule gives."""
    a = payload.get("a", UNDEFINED)
    expected = a if a is not UNDEFINED and a is not None else payload.get("b", UNDEFINED)
    assert compile_mapping(FIRST)(payload) is expected


def test_exists_then_other_value_is_not_taken_for_the_first_form() -> None:
    spec = {"@if": {"exists": {"@path": "$.a"}, "then": "yes", "else": "no"}}
    assert compile_mapping(spec)({"a": 0}) == "yes"
    assert compile_mapping(spec)({"a": None}) == "no"
