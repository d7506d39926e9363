"""``read_roots``: which top-level message keys a mapping depends on."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tidings.core.mapping import compile_mapping, read_roots


def test_roots_of_each_directive() -> None:
    assert read_roots({"@path": "$.context.os.name"}) == {"context"}
    assert read_roots({"@template": "{{event}} on {{context.os.name}}"}) == {"event", "context"}
    assert read_roots({"@template": "no placeholders"}) == set()
    assert read_roots(
        {"@if": {"exists": {"@path": "$.a"}, "then": {"@path": "$.b"}, "else": "c"}}
    ) == {"a", "b"}
    assert read_roots({"@arrayPath": ["$.properties.products", {"id": {"@path": "sku"}}]}) == {
        "properties"
    }
    assert read_roots({"@literal": {"@path": "$.x"}}) == set()
    assert read_roots({"x": {"@path": "$.a"}, "y": [1, {"@path": "$.b[0]"}]}) == {"a", "b"}
    assert read_roots("text") == set()


def test_mappings_that_may_read_anything() -> None:
    assert read_roots({"@path": "$"}) is None
    assert read_roots({"@path": {"@template": "$.{{k}}"}}) is None
    assert read_roots({"@path": "$[0]"}) is None
    assert read_roots({"x": {"@path": "$.a"}, "y": {"@path": "$"}}) is None


KEYS = ["a", "b", "c", "d"]
_path = st.lists(st.sampled_from([*KEYS, "0"]), min_size=0, max_size=3).map(
    lambda parts: "$." + ".".join(parts) if parts else "$"
)
_leaf = st.one_of(
    st.integers(0, 3),
    st.sampled_from(["x", ""]),
    _path.map(lambda p: {"@path": p}),
    st.lists(st.sampled_from(KEYS), min_size=1, max_size=2).map(
        lambda ks: {"@template": "-".join("{{" + k + "}}" for k in ks)}
    ),
)


def _if(args: tuple[Any, Any, Any]) -> dict[str, Any]:
    subject, then, other = args
    return {"@if": {"exists": subject, "then": then, "else": other}}


_mappings = st.recursive(
    _leaf,
    lambda inner: st.one_of(
        st.tuples(inner, inner, inner).map(_if),
        st.dictionaries(st.sampled_from(["p", "q"]), inner, min_size=1, max_size=2),
        st.lists(inner, max_size=2),
        st.tuples(_path, st.dictionaries(st.sampled_from(["p"]), inner, max_size=1)).map(
            lambda t: {"@arrayPath": [t[0], t[1]]}
        ),
    ),
    max_leaves=6,
)
_values = st.recursive(
    st.none() | st.integers(0, 3) | st.sampled_from(["", "v"]),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.sampled_from(KEYS), inner),
    max_leaves=5,
)


@settings(max_examples=300, deadline=None)
@given(_mappings, st.dictionaries(st.sampled_from(KEYS), _values), st.data())
def test_keys_outside_the_roots_never_change_the_value(
    mapping: Any, message: dict[str, Any], data: st.DataObject
) -> None:
    """Two messages that agree on the roots resolve to the same value, whatever the rest holds."""
    roots = read_roots(mapping)
    if roots is None:
        return  # nothing promised
    other = {k: v for k, v in message.items() if k in roots}
    for key in KEYS:
        if key not in roots and data.draw(st.booleans()):
            other[key] = data.draw(_values)
    resolver = compile_mapping(mapping)
    assert resolver(message) == resolver(other)
