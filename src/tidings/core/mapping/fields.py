"""Typed fields: defaults, shallow per-field overrides, and coercion to each field's type.

An action declares its fields (type, default directive, whether ``null`` is allowed, fixed
sub-keys). A subscription's mapping replaces defaults *field by field* (``library2: {}`` wipes the
whole default object), then every resolved value is coerced the way Segment's validator does with
``coerceTypes: "array"``: ``12345`` becomes ``"12345"`` for a string field, ``"2"`` becomes ``2``
for an integer field, a scalar becomes a one-item list for an array field, and back.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from tidings.core.errors import InvalidConfig, InvalidInput
from tidings.core.events import json_type
from tidings.core.mapping.directives import Resolver, compile_mapping, render_value
from tidings.core.mapping.paths import UNDEFINED

_INTEGER = re.compile(r"[+-]?[0-9]+")

FieldType = Literal["string", "integer", "number", "boolean", "object", "array", "datetime", "any"]


@dataclass(frozen=True, slots=True)
class Field:
    """One input field of an action.

    ``properties`` lists the sub-keys an object field keeps (others are stripped, as Segment's
    validator does for objects that do not allow additional properties); ``None`` means free-form.
    """

    name: str
    type: FieldType
    default: Any = UNDEFINED
    allow_null: bool = False
    required: bool = False
    properties: tuple[str, ...] | None = None


class CompiledFields:
    """A mapping merged over field defaults and compiled; ``apply(message)`` gives typed values."""

    __slots__ = ("_parts", "specs")

    def __init__(self, fields: tuple[Field, ...], mapping: Mapping[str, Any] | None = None) -> None:
        if mapping is not None and not isinstance(mapping, Mapping):
            raise InvalidConfig("mapping", "must be an object of field names to directives")
        # Keys that are not fields of the action are ignored, as Segment's validator removes them:
        # one mapping can then be reused across actions (``library2`` means nothing to identify).
        overrides = dict(mapping or {})
        parts: list[tuple[str, Resolver, frozenset[type], Field]] = []
        specs: list[tuple[Field, Any, frozenset[type]]] = []
        for f in fields:
            spec = overrides.get(f.name, f.default)
            if spec is UNDEFINED:
                if f.required:  # never resolves: every message is refused, naming the field
                    parts.append((f.name, _undefined, frozenset(), f))
                    specs.append((f, UNDEFINED, frozenset()))
                continue  # nothing to resolve, nothing to emit
            resolver = compile_mapping(spec, f"mapping.{f.name}")
            parts.append((f.name, resolver, _kept_as_is(f), f))
            specs.append((f, spec, _kept_as_is(f)))
        self._parts = tuple(parts)
        self.specs: tuple[tuple[Field, Any, frozenset[type]], ...] = tuple(specs)
        """Per resolved field: the field, its mapping and the classes kept without coercion
        (what :func:`~tidings.core.mapping.codegen.fields_source` generates code from)."""

    def apply(self, message: Any) -> dict[str, Any]:
        """Resolve every field against ``message``; undefined fields are left out."""
        out: dict[str, Any] = {}
        for name, resolver, as_is, f in self._parts:
            value = resolver(message)
            if value.__class__ in as_is:  # already of the field's type: no coercion to do
                out[name] = value
                continue
            if value is UNDEFINED:
                if f.required:
                    raise InvalidInput(name, "is required but resolved to nothing")
                continue
            value = coerce(value, f)
            if value is UNDEFINED:
                continue
            out[name] = value
        return out


def _undefined(_message: Any) -> Any:
    return UNDEFINED


def _kept_as_is(f: Field) -> frozenset[type]:
    """The value classes :func:`coerce` returns unchanged for ``f`` (checked before calling it)."""
    kind = f.type
    if kind == "string":
        return frozenset({str})
    if kind == "datetime":
        return frozenset({str, int, float})
    if kind == "object":
        return frozenset({dict}) if f.properties is None else frozenset()
    if kind == "integer":
        return frozenset({int})
    if kind == "number":
        return frozenset({int})  # a float may be rounded (2.0 stays 2.0, but NaN is refused)
    if kind == "boolean":
        return frozenset({bool})
    if kind == "array":
        return frozenset({list})
    if kind == "any":
        return frozenset({str, int, float, bool, dict, list, type(None)})
    return frozenset()


def coerce(value: Any, f: Field) -> Any:
    """Coerce one resolved value to ``f``'s type or raise :class:`InvalidInput` naming the field."""
    kind = f.type
    cls = value.__class__
    if (cls is str and kind in ("string", "datetime")) or (
        cls is dict and kind == "object" and f.properties is None
    ):
        return value  # the common case: already the right type
    if value is None:
        # Null is kept where the field allows it; elsewhere it means "no value" (Segment's
        # validator would turn it into "" / 0 / false, and an empty id makes Amplitude reject).
        if f.allow_null or f.type == "any":
            return None
        if f.required:
            raise InvalidInput(f.name, "is required but is null")
        return UNDEFINED
    if kind == "any":
        return value
    if kind == "array":
        return value if isinstance(value, list) else [value]
    if isinstance(value, list):
        if len(value) != 1 or kind == "object":
            raise InvalidInput(f.name, f"must be a single {kind}, got a list of {len(value)}")
        return coerce(value[0], f)
    if kind == "object":
        if not isinstance(value, dict):
            raise InvalidInput(f.name, f"must be an object, got {json_type(value)}")
        if f.properties is not None:
            return {k: v for k, v in value.items() if k in f.properties}
        return value
    if kind == "string":
        return _to_string(value, f)
    if kind == "datetime":
        if isinstance(value, str) or (
            isinstance(value, int | float) and not isinstance(value, bool)
        ):
            return value
        raise InvalidInput(
            f.name, f"must be a date-time string or a number, got {json_type(value)}"
        )
    if kind == "boolean":
        return _to_boolean(value, f)
    return _to_number(value, f, integer=kind == "integer")


def _to_string(value: Any, f: Field) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return render_value(value)
    raise InvalidInput(f.name, f"must be a string, got {json_type(value)}")


def _to_boolean(value: Any, f: Field) -> bool:
    if isinstance(value, bool):
        return value
    if value == "true" or (isinstance(value, int | float) and value == 1):
        return True
    if value == "false" or (isinstance(value, int | float) and value == 0):
        return False
    raise InvalidInput(f.name, f"must be a boolean, got {json_type(value)} {value!r}")


def _to_number(value: Any, f: Field, *, integer: bool) -> int | float:
    what = "an integer" if integer else "a number"
    number: int | float
    if isinstance(value, bool):
        number = int(value)
    elif isinstance(value, int | float):
        number = value
    elif isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value.strip())  # exact, even past float precision
    elif isinstance(value, str):
        try:
            number = float(value.strip()) if value.strip() else math.nan
        except ValueError:
            number = math.nan
        if math.isnan(number) or value.strip().lower() in {"inf", "-inf", "infinity", "nan"}:
            raise InvalidInput(f.name, f"must be {what}, got string {value!r}")
    else:
        raise InvalidInput(f.name, f"must be {what}, got {json_type(value)}")
    if not math.isfinite(number):
        raise InvalidInput(f.name, f"must be {what}, got {number!r}")
    if isinstance(number, float) and number.is_integer():
        if integer or isinstance(value, str):
            return int(number)
        return number
    if integer:
        if isinstance(number, int):
            return number
        raise InvalidInput(f.name, f"must be {what}, got {number!r}")
    return number
