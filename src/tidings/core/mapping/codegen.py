"""A mapping's fields as the source text of one straight-line Python function.

:class:`~tidings.core.mapping.fields.CompiledFields` resolves a mapping by calling one closure per
directive and per path step. That is the reference, and it is what runs until a caller turns the
text made here into a function (``compile`` and ``exec`` are I/O-free but do not belong in the pure
core, so the core only writes the text). The generated function does the same work with no calls
in the common case:

* every plain-key path (``$.context.device.id``) is read once, sharing its prefixes with the
  other paths (``context``, then ``context.device``), at the top of the function;
* ``@if``, objects, lists and templates become ``if`` statements, dict and list displays and a
  ``"".join``; literals are constants;
* each field's "already of the right type, no coercion" test is one class comparison, decided
  at generation time for literals.

Anything else (``@arrayPath``, a computed ``@path``, paths with list indexes) calls the
interpreter's own resolver, so results are the interpreter's by construction. Tests hold the two
to equal output (and equal errors) over generated mappings and messages.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tidings.core.errors import InvalidInput
from tidings.core.mapping.directives import compile_mapping, json_equal, render_value
from tidings.core.mapping.fields import Field, coerce
from tidings.core.mapping.paths import UNDEFINED, Path, compile_getter, get_path, parse_path

FUNCTION_NAME = "apply_fields"

_INLINE_SCALARS = (bool, type(None))


def _plain(segments: Path) -> bool:
    """Whether ``compile_getter`` would read these segments as plain dict keys."""
    return all(isinstance(s, str) and not s.isdigit() for s in segments)


class _Writer:
    """Accumulates the function body, its path reads and the names it needs."""

    def __init__(self) -> None:
        self.names: dict[str, Any] = {
            "_U": UNDEFINED,
            "_coerce": coerce,
            "_InvalidInput": InvalidInput,
            "_render": render_value,
            "_json_equal": json_equal,
            "_get_path": get_path,
            "_dict": dict,
            "_str": str,
        }
        self.nodes: dict[Path, str] = {(): "m"}
        self.leaves: dict[Path, str] = {}
        self.body: list[str] = []
        self._count = 0

    def fresh(self, prefix: str) -> str:
        self._count += 1
        return f"{prefix}{self._count}"

    def constant(self, value: Any) -> str:
        name = self.fresh("_c")
        self.names[name] = value
        return name

    def line(self, indent: int, text: str) -> None:
        self.body.append("    " * indent + text)

    # --- paths -----------------------------------------------------------------------------

    def _node(self, segments: Path) -> str:
        """The variable holding the value at an intermediate path (read in :meth:`reads`)."""
        name = self.nodes.get(segments)
        if name is None:
            self._node(segments[:-1])
            name = self.nodes[segments] = self.fresh("n")
        return name

    def leaf(self, segments: Path) -> str:
        """The variable holding the value at a plain-key path (``_U`` when missing)."""
        if not segments:
            return "m"
        name = self.leaves.get(segments)
        if name is None:
            self._node(segments[:-1])
            name = self.leaves[segments] = self.fresh("v")
        return name

    def reads(self) -> list[str]:
        """Every path read, once, as nested ``if isinstance(node, dict)`` blocks.

        One type test per object on the way (``context``, ``context.device``...) rather than one
        per path; a missing or non-object step leaves every path below it undefined.
        """
        children: dict[Path, list[Path]] = {}
        for path in self.nodes:
            if path:
                children.setdefault(path[:-1], []).append(path)
        leaves: dict[Path, list[Path]] = {}
        for path in self.leaves:
            leaves.setdefault(path[:-1], []).append(path)
        lines: list[str] = []

        def below(node: Path) -> list[str]:
            out = [self.leaves[p] for p in leaves.get(node, [])]
            for child in children.get(node, []):
                out.extend(below(child))
            return out

        def emit(node: Path, indent: int) -> None:
            var = self.nodes[node]
            pad = "    " * indent
            lines.append(f"{pad}if isinstance({var}, _dict):")
            for path in leaves.get(node, []):
                lines.append(f"{pad}    {self.leaves[path]} = {var}.get({path[-1]!r}, _U)")
            for child in children.get(node, []):
                lines.append(f"{pad}    {self.nodes[child]} = {var}.get({child[-1]!r})")
                emit(child, indent + 1)
            lines.append(f"{pad}else:")
            lines.append(f"{pad}    {' = '.join(below(node))} = _U")

        if self.leaves:
            emit((), 1)
        return lines


class _Expr:
    """A generated value: the text to read it and whether it may be undefined."""

    __slots__ = ("maybe_undefined", "text", "value_class")

    def __init__(self, text: str, maybe_undefined: bool, value_class: type | None = None) -> None:
        self.text = text
        self.maybe_undefined = maybe_undefined
        self.value_class = value_class  # known at generation time (literals, objects...)


def _literal(w: _Writer, value: Any) -> _Expr:
    if isinstance(value, _INLINE_SCALARS):  # None, True, False: ``is`` tests on them are fine
        return _Expr(repr(value), False, type(value))
    return _Expr(w.constant(value), False, type(value))


def _gen(w: _Writer, spec: Any, indent: int, field: str) -> _Expr:
    """Emit statements computing ``spec`` at ``indent``; return how to read the result."""
    if isinstance(spec, dict):
        directive = [k for k in spec if isinstance(k, str) and k.startswith("@")]
        if directive and len(spec) == 1:
            return _directive(w, spec, indent, f"{field}.{directive[0]}")
        if directive:  # not valid: the interpreter raises at compile time already
            return _fallback(w, spec, indent, field)
        target = w.fresh("o")
        w.line(indent, f"{target} = {{}}")
        for key, value in spec.items():
            part = _gen(w, value, indent, f"{field}.{key}")
            store = f"{target}[{str(key)!r}] = {part.text}"
            if part.maybe_undefined:
                w.line(indent, f"if {part.text} is not _U:")
                w.line(indent + 1, store)
            else:
                w.line(indent, store)
        return _Expr(target, False, dict)
    if isinstance(spec, list | tuple):
        items = [_gen(w, v, indent, f"{field}[{i}]") for i, v in enumerate(spec)]
        texts = [
            f"(None if {i.text} is _U else {i.text})" if i.maybe_undefined else i.text
            for i in items
        ]
        target = w.fresh("l")
        w.line(indent, f"{target} = [{', '.join(texts)}]")
        return _Expr(target, False, list)
    return _literal(w, spec)


def _fallback(w: _Writer, spec: Any, indent: int, field: str) -> _Expr:
    """Call the interpreter's resolver for ``spec`` (rare directives)."""
    resolver = w.constant(compile_mapping(spec, field))
    target = w.fresh("f")
    w.line(indent, f"{target} = {resolver}(m)")
    return _Expr(target, True)


def _directive(w: _Writer, spec: Mapping[str, Any], indent: int, field: str) -> _Expr:
    """``spec`` is a one-key directive object; ``field`` ends with the directive's name."""
    name, arg = next(iter(spec.items()))
    if name == "@path" and isinstance(arg, str):
        segments = parse_path(arg, field)
        if _plain(segments):
            return _Expr(w.leaf(segments), True)
        getter = w.constant(compile_getter(segments))
        target = w.fresh("g")
        w.line(indent, f"{target} = {getter}(m)")
        return _Expr(target, True)
    if name == "@literal":
        return _gen(w, arg, indent, field)
    if name == "@template" and isinstance(arg, str):
        return _template(w, arg, indent, field)
    if name == "@if" and isinstance(arg, dict) and _simple_if(arg):
        return _if(w, arg, indent, field)
    base = field.rsplit(".", 1)[0]
    return _fallback(w, dict(spec), indent, base)


def _template(w: _Writer, arg: str, indent: int, field: str) -> _Expr:
    from tidings.core.mapping.directives import parse_template

    parts = parse_template(arg, field)
    if all(isinstance(p, str) for p in parts):
        return _literal(w, "".join(p for p in parts if isinstance(p, str)))
    texts: list[str] = []
    for part in parts:
        if isinstance(part, str):
            texts.append(w.constant(part))
            continue
        if _plain(part):
            value = w.leaf(part)
        else:
            value = w.fresh("g")
            w.line(indent, f"{value} = _get_path(m, {w.constant(part)})")
        texts.append(f"({value} if {value}.__class__ is _str else _render({value}))")
    target = w.fresh("t")
    w.line(indent, f"{target} = ''.join(({', '.join(texts)},))")
    return _Expr(target, False, str)


_IF_KINDS = ("exists", "blank", "true", "value")


def _simple_if(arg: Mapping[str, Any]) -> bool:
    """An ``@if`` the interpreter accepts (it has compiled it already) in the usual shapes."""
    kinds = [k for k in _IF_KINDS if k in arg]
    if len(kinds) != 1:
        return False
    if kinds[0] == "value":
        return ("is" in arg) != ("is_not" in arg)
    return True


def _if(w: _Writer, arg: Mapping[str, Any], indent: int, field: str) -> _Expr:
    kind = next(k for k in _IF_KINDS if k in arg)
    subject = _gen(w, arg[kind], indent, f"{field}.{kind}")
    s = subject.text
    if kind == "exists":
        condition = f"{s} is not _U and {s} is not None"
    elif kind == "blank":
        condition = f"{s} is not _U and {s} is not None and {s} != ''"
    elif kind == "true":
        condition = f"{s} is True or (isinstance({s}, _str) and {s}.lower() == 'true')"
    else:
        op = "is" if "is" in arg else "is_not"
        expected = _gen(w, arg[op], indent, f"{field}.{op}")
        negate = op == "is_not"
        condition = f"_json_equal({s}, {expected.text}) != {negate}"
    target = w.fresh("r")
    w.line(indent, f"if {condition}:")
    then = _branch(w, arg, "then", indent + 1, target)
    w.line(indent, "else:")
    other = _branch(w, arg, "else", indent + 1, target)
    return _Expr(target, then or other)


def _branch(w: _Writer, arg: Mapping[str, Any], key: str, indent: int, target: str) -> bool:
    """Assign the branch's value to ``target``; return whether it may be undefined."""
    if key not in arg:
        w.line(indent, f"{target} = _U")
        return True
    value = _gen(w, arg[key], indent, key)
    w.line(indent, f"{target} = {value.text}")
    return value.maybe_undefined


def _as_is_test(w: _Writer, text: str, as_is: frozenset[type]) -> str:
    if len(as_is) == 1:
        (cls,) = as_is
        return f"{text}.__class__ is {w.constant(cls)}"
    return f"{text}.__class__ in {w.constant(as_is)}"


def fields_source(
    parts: Sequence[tuple[Field, Any, frozenset[type]]],
) -> tuple[str, dict[str, Any]]:
    """The text of ``def apply_fields(m)`` for resolved fields, and the names it reads.

    ``parts``: per field in output order, the field, its mapping (``UNDEFINED`` for a required
    field that has none) and the value classes that need no coercion. The function returns what
    :meth:`CompiledFields.apply` returns, and raises what it raises.
    """
    w = _Writer()
    w.line(1, "out = {}")
    for f, spec, as_is in parts:
        name = repr(f.name)
        field_const = w.constant(f)
        if spec is UNDEFINED:
            w.line(1, f"raise _InvalidInput({name}, 'is required but resolved to nothing')")
            break
        value = _gen(w, spec, 1, f"mapping.{f.name}")
        if value.value_class is not None and value.value_class in as_is:
            w.line(1, f"out[{name}] = {value.text}")
            continue
        x = value.text
        if value.value_class is not None:  # a literal, object, list or text: never undefined
            w.line(1, f"c = _coerce({x}, {field_const})")
            w.line(1, "if c is not _U:")
            w.line(2, f"out[{name}] = c")
            continue
        # Undefined first (most fields of a message are absent); its class is never kept as is.
        w.line(1, f"if {x} is _U:")
        if f.required:
            w.line(2, f"raise _InvalidInput({name}, 'is required but resolved to nothing')")
        else:
            w.line(2, "pass")
        if as_is:
            w.line(1, f"elif {_as_is_test(w, x, as_is)}:")
            w.line(2, f"out[{name}] = {x}")
        w.line(1, "else:")
        w.line(2, f"c = _coerce({x}, {field_const})")
        w.line(2, "if c is not _U:")
        w.line(3, f"out[{name}] = c")
    w.line(1, "return out")
    source = "\n".join([f"def {FUNCTION_NAME}(m):", *w.reads(), *w.body, ""])
    return source, w.names
