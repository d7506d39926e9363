"""Custom properties and the changes they report."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tidings.core.errors import InvalidEvent
from tidings.core.properties import MISSING, CustomProperties, PropertyChange


def test_first_set_has_no_old_value() -> None:
    props = CustomProperties()
    assert props.set("plan", "pro") == [PropertyChange("plan", MISSING, "pro")]
    assert props.get("plan") == "pro"


def test_same_value_again_reports_nothing() -> None:
    props = CustomProperties()
    props.set("n", 1)
    assert props.set("n", 1) == []


def test_equal_values_of_other_types_are_a_change() -> None:
    props = CustomProperties()
    props.set("n", 1)
    assert props.set("n", 1.0) == [PropertyChange("n", 1, 1.0)]
    assert props.set("n", True) == [PropertyChange("n", 1.0, True)]


def test_remove_reports_old_value_and_missing_key_nothing() -> None:
    props = CustomProperties({"a": 1})
    assert props.remove("a") == [PropertyChange("a", 1, MISSING)]
    assert props.remove("a") == []


def test_clear_reports_each_key_in_key_order() -> None:
    props = CustomProperties({"b": 2, "a": 1, "c": 3})
    assert [c.key for c in props.clear()] == ["a", "b", "c"]
    assert props.values == {}
    assert props.clear() == []


def test_set_many_validates_everything_before_applying() -> None:
    props = CustomProperties({"a": 1})
    with pytest.raises(InvalidEvent) as info:
        props.set_many({"a": 2, "bad": [1]})
    assert info.value.field == "properties['bad']"
    assert props.values == {"a": 1}


def test_set_validates_key_and_value() -> None:
    props = CustomProperties()
    with pytest.raises(InvalidEvent) as info:
        props.set("", 1)
    assert info.value.field == "key"
    with pytest.raises(InvalidEvent) as info:
        props.set("k", None)
    assert info.value.field == "value"


keys = st.sampled_from(["a", "b", "c", "d"])
values = st.one_of(st.integers(-3, 3), st.booleans(), st.sampled_from(["x", "y"]), st.just(1.0))
ops = st.lists(
    st.one_of(
        st.tuples(st.just("set"), keys, values),
        st.tuples(st.just("remove"), keys, st.none()),
        st.tuples(st.just("clear"), st.none(), st.none()),
        st.tuples(st.just("many"), st.dictionaries(keys, values, max_size=3), st.none()),
    ),
    max_size=40,
)


@given(ops)
def test_replaying_reported_changes_rebuilds_the_map(operations: list[tuple]) -> None:
    props = CustomProperties()
    rebuilt: dict[str, object] = {}
    for op, a, b in operations:
        if op == "set":
            changes = props.set(a, b)
        elif op == "remove":
            changes = props.remove(a)
        elif op == "clear":
            changes = props.clear()
        else:
            changes = props.set_many(a)
        for change in changes:
            assert change.old is not change.new
            assert rebuilt.get(change.key, MISSING) == change.old or (
                change.old is MISSING and change.key not in rebuilt
            )
            if change.new is MISSING:
                del rebuilt[change.key]
            else:
                rebuilt[change.key] = change.new
    assert rebuilt == dict(props.values)
