"""Typed fields: defaults, per-field overrides, coercion, required fields."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tidings.core.errors import InvalidConfig, InvalidInput
from tidings.core.mapping import UNDEFINED, CompiledFields, Field, coerce

FIELDS = (
    Field("name", "string", {"@path": "$.event"}, required=True),
    Field("uid", "string", {"@path": "$.userId"}, allow_null=True),
    Field("count", "integer", {"@path": "$.properties.count"}),
    Field(
        "lib",
        "object",
        {"behavior": "use", "mapping": {"@path": "$.lib"}},
        properties=("behavior", "mapping"),
    ),
    Field("free", "object", {"@path": "$.properties"}),
    Field("tags", "array", {"@path": "$.tags"}),
    Field("flag", "boolean", False),
)


def test_defaults_apply_and_undefined_fields_are_left_out() -> None:
    got = CompiledFields(FIELDS).apply({"event": "E", "userId": None, "lib": "x"})
    assert got == {
        "name": "E",
        "uid": None,
        "lib": {"behavior": "use", "mapping": "x"},
        "flag": False,
    }


def test_overrides_replace_defaults_shallowly_per_field() -> None:
    got = CompiledFields(FIELDS, {"lib": {}, "count": 7}).apply({"event": "E", "lib": "x"})
    assert got["lib"] == {}
    assert got["count"] == 7


def test_unknown_mapping_keys_are_ignored() -> None:
    assert CompiledFields(FIELDS, {"not_a_field": 1}).apply({"event": "E"})["name"] == "E"


def test_mapping_must_be_an_object() -> None:
    with pytest.raises(InvalidConfig):
        CompiledFields(FIELDS, [1])  # type: ignore[arg-type]


def test_required_field_missing_is_an_error_naming_it() -> None:
    with pytest.raises(InvalidInput) as err:
        CompiledFields(FIELDS).apply({})
    assert err.value.field == "name"


def test_fixed_objects_lose_unknown_keys_free_objects_keep_them() -> None:
    fields = CompiledFields(FIELDS, {"lib": {"behavior": "b", "extra": 1}})
    got = fields.apply({"event": "E", "properties": {"anything": [1]}})
    assert got["lib"] == {"behavior": "b"}
    assert got["free"] == {"anything": [1]}


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("string", 12345, "12345"),
        ("string", 1.5, "1.5"),
        ("string", True, "true"),
        ("string", ["one"], "one"),
        ("integer", "2", 2),
        ("integer", " -12345678901234567891 ", -12345678901234567891),
        ("number", "+7", 7),
        ("integer", 2.0, 2),
        ("integer", True, 1),
        ("number", "2.5", 2.5),
        ("number", " 3 ", 3),
        ("boolean", "true", True),
        ("boolean", "false", False),
        ("boolean", 0, False),
        ("array", "x", ["x"]),
        ("array", [1], [1]),
        ("datetime", "2021-01-01", "2021-01-01"),
        ("datetime", 5, 5),
        ("any", {"a": 1}, {"a": 1}),
    ],
)
def test_coercion(kind: Any, value: Any, expected: Any) -> None:
    got = coerce(value, Field("f", kind))
    assert got == expected
    assert type(got) is type(expected)


@pytest.mark.parametrize(
    "kind", ["string", "integer", "number", "boolean", "object", "array", "datetime"]
)
def test_null_is_no_value_where_not_allowed(kind: Any) -> None:
    assert coerce(None, Field("f", kind)) is UNDEFINED
    with pytest.raises(InvalidInput):
        coerce(None, Field("f", kind, required=True))


def test_null_is_kept_where_allowed_and_dropped_for_objects() -> None:
    assert coerce(None, Field("f", "string", allow_null=True)) is None
    assert coerce(None, Field("f", "any")) is None
    assert coerce(None, Field("f", "object")) is UNDEFINED
    assert coerce(None, Field("f", "array")) is UNDEFINED


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("integer", "2.5"),
        ("integer", "+-5"),
        ("integer", "²"),
        ("string", [None, 1]),
        ("object", [{}]),
        ("integer", 2.5),
        ("number", "abc"),
        ("number", ""),
        ("number", "inf"),
        ("number", {"a": 1}),
        ("boolean", "yes"),
        ("string", {"a": 1}),
        ("string", [1, 2]),
        ("object", "x"),
        ("datetime", True),
    ],
)
def test_uncoercible_values_are_errors_naming_the_field(kind: Any, value: Any) -> None:
    with pytest.raises(InvalidInput) as err:
        coerce(value, Field("my_field", kind))
    assert err.value.field == "my_field"


@settings(max_examples=100)
@given(st.integers(-(10**15), 10**15))
def test_integers_survive_a_string_round_trip(n: int) -> None:
    as_text = coerce(n, Field("s", "string"))
    assert coerce(as_text, Field("i", "integer")) == n
