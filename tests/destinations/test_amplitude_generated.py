"""Generated mapping functions give exactly what the mapping interpreter gives.

``CompiledFields.apply`` (closures per directive) is the reference; every subscription runs the
function generated from the same mapping. Both must agree on values, key order, omitted keys
and the errors they raise, for every action and preset and for arbitrary mappings.
"""

from __future__ import annotations

import math
from typing import Any

import orjson
import pytest
from amplitude_messages import IPHONE_UA, message
from hypothesis import given, settings
from hypothesis import strategies as st

from tidings.core.errors import InvalidInput
from tidings.core.mapping import CompiledFields, Field
from tidings.core.mapping.codegen import fields_source
from tidings.destinations.amplitude import Subscription
from tidings.destinations.amplitude.actions import ACTIONS, PRESETS
from tidings.destinations.amplitude.generated import generated_fields

KEYS = st.sampled_from(["a", "b", "c", "0", "key with spaces"])
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-5, 5)
    | st.sampled_from([0.0, 2.0, 2.5, math.inf, -0.0])
    | st.sampled_from(["", "x", "true", "TRUE", "12", "2.5", "2021-08-17T15:21:15.449Z"])
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=15,
)
MESSAGES = st.dictionaries(KEYS, JSON, min_size=1, max_size=5) | JSON
PATHS = st.sampled_from(
    [
        "$",
        "$.a",
        "a.b",
        "$.a.b.c",
        "$.a.b.c.a",
        "$.b[0]",
        "$.a.0",
        '$.a["key with spaces"]',
        "$.c.a",
        "$.missing.deeper",
    ]
)


def _template() -> st.SearchStrategy[str]:
    pieces = st.sampled_from(["Viewed ", "{{a}}", "{{ a.b }}", "{{{c}}}", "-", "{{b[0]}}", ""])
    return st.lists(pieces, max_size=4).map("".join)


def _directives(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    conditions = st.one_of(
        st.fixed_dictionaries({"exists": inner}),
        st.fixed_dictionaries({"blank": inner}),
        st.fixed_dictionaries({"true": inner}),
        st.fixed_dictionaries({"value": inner, "is": inner}),
        st.fixed_dictionaries({"value": inner, "is_not": inner}),
    )
    branches = st.fixed_dictionaries({}, optional={"then": inner, "else": inner})
    return st.one_of(
        st.builds(lambda p: {"@path": p}, PATHS),
        st.builds(lambda t: {"@template": t}, _template()),
        st.builds(lambda c, b: {"@if": {**c, **b}}, conditions, branches),
        st.builds(lambda p: {"@arrayPath": [p]}, PATHS),
        st.builds(lambda p, s: {"@arrayPath": [p, s]}, PATHS, st.dictionaries(KEYS, inner)),
        st.builds(lambda v: {"@literal": v}, inner),
        st.lists(inner, max_size=3),
        st.dictionaries(KEYS, inner, max_size=3),
    )


MAPPINGS = st.recursive(
    SCALARS | st.builds(lambda p: {"@path": p}, PATHS), _directives, max_leaves=8
)
FIELD_TYPES = st.sampled_from(
    ["string", "integer", "number", "boolean", "object", "array", "datetime", "any"]
)


def _fields() -> st.SearchStrategy[tuple[Field, ...]]:
    one = st.builds(
        lambda name, kind, allow_null, required, props: Field(
            name,
            kind,
            allow_null=allow_null,
            required=required,
            properties=props if kind == "object" else None,
        ),
        st.sampled_from(["f", "g", "h", "i"]),
        FIELD_TYPES,
        st.booleans(),
        st.sampled_from([False] * 9 + [True]),  # a required field refuses most messages
        st.none() | st.just(("a", "b")),
    )
    return st.lists(one, min_size=1, max_size=4, unique_by=lambda f: f.name).map(tuple)


def _outcome(apply: Any, msg: Any) -> Any:
    """What applying gives: the value as JSON bytes (key order included), or the error."""
    try:
        return orjson.dumps(apply(msg), option=orjson.OPT_NON_STR_KEYS)
    except InvalidInput as exc:
        return ("InvalidInput", exc.field, exc.reason)
    except Exception as exc:
        return (type(exc).__name__,)


@pytest.mark.slow
@settings(max_examples=1500, deadline=None)
@given(_fields(), st.lists(MAPPINGS, min_size=4, max_size=4), MESSAGES)
def test_generated_functions_agree_with_the_interpreter(
    fields: tuple[Field, ...], specs: list[Any], msg: Any
) -> None:
    mapping = {f.name: spec for f, spec in zip(fields, specs, strict=False)}
    compiled = CompiledFields(fields, mapping)
    assert _outcome(generated_fields(compiled), msg) == _outcome(compiled.apply, msg)
    for f in fields:  # one by one too: a refused field hides the others above
        single = CompiledFields((f,), mapping)
        assert _outcome(generated_fields(single), msg) == _outcome(single.apply, msg)


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(sorted(ACTIONS)),
    st.dictionaries(st.sampled_from(["type", "event", "userId", "anonymousId"]), SCALARS),
    st.dictionaries(st.sampled_from(["device", "os", "app", "library", "session"]), JSON),
    st.dictionaries(KEYS, JSON, max_size=3),
)
def test_every_action_default_mapping_agrees_on_varied_messages(
    action: str, top: dict[str, Any], context: dict[str, Any], properties: dict[str, Any]
) -> None:
    sub = Subscription(name="s", action=action)
    msg = message(**top, properties=properties)
    msg["context"] = {**msg["context"], **context}
    assert _outcome(sub._apply, msg) == _outcome(sub._fields.apply, msg)


@pytest.mark.parametrize("preset", sorted(PRESETS))
@pytest.mark.parametrize(
    "msg",
    [
        message(),
        message(type="page", name="Home"),
        message(event="SessionStarted"),
        message(event="Order Completed", properties={"products": [{"price": "2", "quantity": 3}]}),
        message(userId=None, context={"userAgent": IPHONE_UA, "device": {"id": 12345}}),
        {},
    ],
)
def test_every_preset_agrees_on_sample_messages(preset: str, msg: dict[str, Any]) -> None:
    sub = Subscription.preset(preset)
    assert _outcome(sub._apply, msg) == _outcome(sub._fields.apply, msg)


def test_paths_are_read_once_and_missing_objects_leave_them_undefined() -> None:
    fields = (Field("a", "string"), Field("b", "string"), Field("c", "any"))
    mapping = {
        "a": {"@path": "$.context.device.id"},
        "b": {"@path": "$.context.device.model"},
        "c": {"@path": "$.context"},
    }
    source, _ = fields_source(CompiledFields(fields, mapping).specs)
    assert source.count(".get('device')") == 1
    apply = generated_fields(CompiledFields(fields, mapping))
    assert apply({"context": {"device": "not an object"}}) == {"c": {"device": "not an object"}}
    assert apply({"context": {"device": {"id": 7}}}) == {"a": "7", "c": {"device": {"id": 7}}}
    assert apply([]) == {}


def test_a_required_field_without_a_mapping_is_refused_like_the_interpreter() -> None:
    fields = (Field("x", "string", {"@path": "$.x"}), Field("y", "string", required=True))
    compiled = CompiledFields(fields)
    with pytest.raises(InvalidInput) as generated:
        generated_fields(compiled)({"x": 1})
    with pytest.raises(InvalidInput) as interpreted:
        compiled.apply({"x": 1})
    assert (generated.value.field, generated.value.reason) == (
        interpreted.value.field,
        interpreted.value.reason,
    )
