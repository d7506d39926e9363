"""The Segment-style mapping language, compiled once into closures.

A mapping is JSON: a literal is itself; an object with a single ``@``-key is a directive
(``@path``, ``@template``, ``@if``, ``@arrayPath``, ``@literal``); any other object is a nested
mapping whose keys resolve independently. Compiling validates the whole mapping up front (errors
name the field path), so resolving a message is only dict walks and function calls.

Undefined results (:data:`UNDEFINED`) are dropped from objects as they are built, so a resolved
value never contains an undefined; inside a list an undefined becomes ``null`` (what JSON
serialisation of a JS ``undefined`` list item gives). ``null`` itself is always kept.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from tidings.core.errors import InvalidInput
from tidings.core.mapping.paths import UNDEFINED, Path, compile_getter, get_path, parse_path

Resolver = Callable[[Any], Any]
"""A compiled mapping: payload in, resolved value (possibly :data:`UNDEFINED`) out."""

DIRECTIVES = ("@path", "@template", "@if", "@arrayPath", "@literal")


def compile_mapping(mapping: Any, field: str = "mapping") -> Resolver:
    """Compile a mapping value; raise :class:`InvalidInput` naming the offending ``field`` path."""
    if isinstance(mapping, dict):
        directive = [k for k in mapping if isinstance(k, str) and k.startswith("@")]
        if directive:
            if len(mapping) != 1:
                raise InvalidInput(
                    field,
                    f"a directive object holds one key only, got {sorted(map(str, mapping))}",
                )
            name = directive[0]
            return _compile_directive(name, mapping[name], f"{field}.{name}")
        parts = [(str(k), compile_mapping(v, f"{field}.{k}")) for k, v in mapping.items()]

        def resolve_object(payload: Any) -> Any:
            out: dict[str, Any] = {}
            for key, part in parts:
                value = part(payload)
                if value is not UNDEFINED:
                    out[key] = value
            return out

        return resolve_object
    if isinstance(mapping, list | tuple):
        items = [compile_mapping(v, f"{field}[{i}]") for i, v in enumerate(mapping)]

        def resolve_list(payload: Any) -> Any:
            return [_list_item(item(payload)) for item in items]

        return resolve_list
    if mapping is None or isinstance(mapping, str | int | float | bool):
        value = mapping
        return lambda _payload: value
    raise InvalidInput(field, f"not a JSON value: {type(mapping).__name__}")


def resolve(mapping: Any, payload: Any) -> Any:
    """Compile and apply in one go (convenient for one-off use; compile once on hot paths)."""
    return compile_mapping(mapping)(payload)


def _list_item(value: Any) -> Any:
    return None if value is UNDEFINED else value


def _compile_directive(name: str, arg: Any, field: str) -> Resolver:
    if name == "@path":
        return _compile_path(arg, field)
    if name == "@template":
        return _compile_template(arg, field)
    if name == "@if":
        return _compile_if(arg, field)
    if name == "@arrayPath":
        return _compile_array_path(arg, field)
    if name == "@literal":
        return compile_mapping(arg, field)
    raise InvalidInput(field, f"unknown directive {name}; known: {', '.join(DIRECTIVES)}")


def _compile_path(arg: Any, field: str) -> Resolver:
    if isinstance(arg, str):
        return compile_getter(parse_path(arg, field))
    if isinstance(arg, dict):
        inner = compile_mapping(arg, field)

        def dynamic_path(payload: Any) -> Any:
            path = inner(payload)
            if not isinstance(path, str):
                raise InvalidInput(field, f"expected a path string, got {type(path).__name__}")
            return get_path(payload, parse_path(path, field))

        return dynamic_path
    raise InvalidInput(field, "expected a path string such as '$.properties.name'")


# --- @template -----------------------------------------------------------------------------------


def render_value(value: Any) -> str:
    """How a value prints inside a template: JS ``String()`` for scalars, JSON for containers."""
    if value is UNDEFINED or value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):
        return _js_number(value)
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        import orjson

        return orjson.dumps(value).decode()
    return str(value)


def _js_number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return repr(value)


def parse_template(template: str, field: str = "@template") -> list[str | Path]:
    """Split ``"Viewed {{name}}"`` into literal text and parsed paths (``{{{x}}}`` works too)."""
    parts: list[str | Path] = []
    i, n = 0, len(template)
    literal_start = 0
    while i < n:
        if template.startswith("{{", i):
            triple = template.startswith("{{{", i)
            close = "}}}" if triple else "}}"
            start = i + (3 if triple else 2)
            end = template.find(close, start)
            if end < 0:
                raise InvalidInput(field, f"position {i}: unclosed '{{{{' in template")
            inner = template[start:end].strip()
            if not inner or "{" in inner or "}" in inner:
                raise InvalidInput(field, f"position {i}: empty or malformed placeholder")
            if literal_start < i:
                parts.append(template[literal_start:i])
            parts.append(parse_path(inner, field))
            i = end + len(close)
            literal_start = i
        else:
            i += 1
    if literal_start < n:
        parts.append(template[literal_start:])
    return parts


def _compile_template(arg: Any, field: str) -> Resolver:
    if not isinstance(arg, str):
        raise InvalidInput(field, "expected a template string such as 'Viewed {{name}}'")
    parts = parse_template(arg, field)
    if all(isinstance(p, str) for p in parts):
        text = "".join(p for p in parts if isinstance(p, str))
        return lambda _payload: text

    def render(payload: Any) -> Any:
        return "".join(
            p if isinstance(p, str) else render_value(get_path(payload, p)) for p in parts
        )

    return render


# --- @if -----------------------------------------------------------------------------------------

_IF_KEYS = frozenset({"exists", "blank", "true", "value", "is", "is_not", "then", "else"})
_IF_KINDS = ("exists", "blank", "true", "value")


def _compile_if(arg: Any, field: str) -> Resolver:
    if not isinstance(arg, dict):
        raise InvalidInput(field, "expected an object with 'exists', 'blank', 'true' or 'value'")
    unknown = set(arg) - _IF_KEYS
    if unknown:
        raise InvalidInput(field, f"unknown keys {sorted(unknown)}")
    kinds = [k for k in _IF_KINDS if k in arg]
    if len(kinds) != 1:
        raise InvalidInput(field, "needs exactly one of 'exists', 'blank', 'true' or 'value'")
    kind = kinds[0]
    subject = compile_mapping(arg[kind], f"{field}.{kind}")
    then = compile_mapping(arg["then"], f"{field}.then") if "then" in arg else None
    other = compile_mapping(arg["else"], f"{field}.else") if "else" in arg else None
    if kind == "exists" and then is not None and _same_path(arg["exists"], arg["then"]):
        # ``{"exists": P, "then": P, "else": Q}`` (first of P, Q: every id field's default)
        # reads P once instead of twice.
        def resolve_first(payload: Any) -> Any:
            value = subject(payload)
            if value is not UNDEFINED and value is not None:
                return value
            return other(payload) if other is not None else UNDEFINED

        return resolve_first
    condition: Callable[[Any], bool]
    if kind == "exists":

        def condition(payload: Any) -> bool:
            value = subject(payload)
            return value is not UNDEFINED and value is not None

    elif kind == "blank":

        def condition(payload: Any) -> bool:
            value = subject(payload)
            return value is not UNDEFINED and value is not None and value != ""

    elif kind == "true":

        def condition(payload: Any) -> bool:
            value = subject(payload)
            return value is True or (isinstance(value, str) and value.lower() == "true")

    else:
        has_is, has_not = "is" in arg, "is_not" in arg
        if has_is == has_not:
            raise InvalidInput(field, "'value' needs exactly one of 'is' or 'is_not'")
        op = "is" if has_is else "is_not"
        expected = compile_mapping(arg[op], f"{field}.{op}")
        negate = op == "is_not"

        def condition(payload: Any) -> bool:
            return json_equal(subject(payload), expected(payload)) != negate

    def resolve_if(payload: Any) -> Any:
        if condition(payload):
            return then(payload) if then is not None else UNDEFINED
        return other(payload) if other is not None else UNDEFINED

    return resolve_if


def _same_path(a: Any, b: Any) -> bool:
    """Whether two mapping values are the same ``{"@path": ...}`` directive."""
    return (
        isinstance(a, dict)
        and isinstance(b, dict)
        and len(a) == 1
        and isinstance(a.get("@path"), str)
        and a == b
    )


def json_equal(a: Any, b: Any) -> bool:
    """Equality of JSON values where ``true`` is not ``1`` (Python says it is)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


# --- @arrayPath ----------------------------------------------------------------------------------


def _compile_array_path(arg: Any, field: str) -> Resolver:
    if not isinstance(arg, list) or not 1 <= len(arg) <= 2:
        raise InvalidInput(field, "expected [path] or [path, shape]")
    path_arg = arg[0]
    root: Resolver
    if isinstance(path_arg, str):
        root = compile_getter(parse_path(path_arg, f"{field}[0]"))
    else:
        root = compile_mapping(path_arg, f"{field}[0]")
    shape = arg[1] if len(arg) == 2 else None
    if shape is not None and not isinstance(shape, dict):
        raise InvalidInput(f"{field}[1]", "the item shape must be an object")
    if not shape:
        return root
    item = compile_mapping(shape, f"{field}[1]")

    def resolve_array(payload: Any) -> Any:
        value = root(payload)
        if isinstance(value, list):
            return [item(element) for element in value]
        if isinstance(value, Mapping):
            return [item(value)]
        return value

    return resolve_array


# --- what a mapping reads -----------------------------------------------------------------------


def read_roots(mapping: Any) -> frozenset[str] | None:
    """The top-level message keys a (valid) mapping can read, or ``None`` when it may read any
    part of the message (the root itself, a computed ``@path``, a list index at the top).

    A mapping's value depends on these keys only: two messages that agree on them resolve to
    the same value. That lets a caller compute once what a mapping takes from the part of many
    messages they share. ``@arrayPath``'s item shape reads the items, not the message, so only
    its first argument counts.
    """
    if isinstance(mapping, dict):
        if len(mapping) == 1:
            ((key, arg),) = mapping.items()
            if key == "@path":
                return _path_roots(arg)
            if key == "@template":
                if not isinstance(arg, str):
                    return None
                paths = [p for p in parse_template(arg) if not isinstance(p, str)]
                return _union([_segments_root(p) for p in paths])
            if key == "@if":
                return (
                    _union([read_roots(v) for v in arg.values()]) if isinstance(arg, dict) else None
                )
            if key == "@arrayPath":
                if not isinstance(arg, list) or not arg:
                    return None
                return _path_roots(arg[0]) if isinstance(arg[0], str) else read_roots(arg[0])
            if key == "@literal":
                return frozenset()
        return _union([read_roots(v) for v in mapping.values()])
    if isinstance(mapping, list | tuple):
        return _union([read_roots(v) for v in mapping])
    return frozenset()  # a literal (or no mapping at all) reads nothing


def _path_roots(arg: Any) -> frozenset[str] | None:
    return _segments_root(parse_path(arg)) if isinstance(arg, str) else None


def _segments_root(segments: Path) -> frozenset[str] | None:
    if not segments or not isinstance(segments[0], str):
        return None
    return frozenset((segments[0],))


def _union(parts: list[frozenset[str] | None]) -> frozenset[str] | None:
    out: frozenset[str] = frozenset()
    for part in parts:
        if part is None:
            return None
        out |= part
    return out
