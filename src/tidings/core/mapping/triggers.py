"""Subscription triggers: the subset of Segment's FQL a subscription may use.

Grammar (``and`` binds tighter than ``or``; keywords are case-sensitive, as in FQL)::

    expr    := conj ("or" conj)*
    conj    := atom ("and" atom)*
    atom    := "(" expr ")" | "exists" "(" path ")" | path ("=" | "!=") literal
    literal := "string" | number | true | false | null
    path    := name ("." name)*          e.g. type, event, properties.plan.tier

A trigger is parsed once into a small tree whose ``__call__`` evaluates a message; ``str(tree)``
prints canonical FQL that parses back to an equal tree. Errors name the character position.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from tidings.core.errors import InvalidInput
from tidings.core.mapping.directives import json_equal
from tidings.core.mapping.paths import UNDEFINED, get_path

Literal_ = str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class Compare:
    """``path = value`` (or ``!=``). A missing field equals nothing, so ``!=`` holds for it."""

    path: tuple[str, ...]
    value: Literal_
    negate: bool = False

    def __call__(self, message: Any) -> bool:
        found = get_path(message, self.path)
        equal = found is not UNDEFINED and json_equal(found, self.value)
        return equal != self.negate

    def __str__(self) -> str:
        op = "!=" if self.negate else "="
        return f"{'.'.join(self.path)} {op} {_format_literal(self.value)}"


@dataclass(frozen=True, slots=True)
class Exists:
    """``exists(path)``: the field is present and not null."""

    path: tuple[str, ...]

    def __call__(self, message: Any) -> bool:
        found = get_path(message, self.path)
        return found is not UNDEFINED and found is not None

    def __str__(self) -> str:
        return f"exists({'.'.join(self.path)})"


@dataclass(frozen=True, slots=True)
class AllOf:
    """Conjunction (``and``) of two or more terms."""

    terms: tuple[Trigger, ...]

    def __call__(self, message: Any) -> bool:
        return all(term(message) for term in self.terms)

    def __str__(self) -> str:
        return " and ".join(f"({t})" if isinstance(t, AnyOf) else str(t) for t in self.terms)


@dataclass(frozen=True, slots=True)
class AnyOf:
    """Disjunction (``or``) of two or more terms."""

    terms: tuple[Trigger, ...]

    def __call__(self, message: Any) -> bool:
        return any(term(message) for term in self.terms)

    def __str__(self) -> str:
        return " or ".join(str(t) for t in self.terms)


Trigger = Compare | Exists | AllOf | AnyOf


def _format_literal(value: Literal_) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return orjson.dumps(value).decode()
    return repr(value)


# --- tokenizer ----------------------------------------------------------------------------------

_PUNCT = ("!=", "=", "(", ")")


def _tokens(text: str) -> list[tuple[str, Any, int]]:
    """(kind, value, position) triples; kinds: name, string, number, op, end."""
    out: list[tuple[str, Any, int]] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            if j >= n:
                raise InvalidInput("trigger", f"position {i}: unterminated string")
            try:
                out.append(("string", orjson.loads(text[i : j + 1]), i))
            except orjson.JSONDecodeError:
                raise InvalidInput("trigger", f"position {i}: invalid string escape") from None
            i = j + 1
            continue
        punct = next((p for p in _PUNCT if text.startswith(p, i)), None)
        if punct is not None:
            out.append(("op", punct, i))
            i += len(punct)
            continue
        if ch.isdigit() or (ch == "-" and i + 1 < n and text[i + 1].isdigit()):
            j = i + 1
            while j < n and (text[j].isdigit() or text[j] in ".eE+-"):
                j += 1
            raw = text[i:j]
            try:
                number: int | float = int(raw) if raw.lstrip("-").isdigit() else float(raw)
            except ValueError:
                raise InvalidInput("trigger", f"position {i}: bad number {raw!r}") from None
            out.append(("number", number, i))
            i = j
            continue
        if ch.isalpha() or ch in "_$":
            j = i
            while j < n and (text[j].isalnum() or text[j] in "_$."):
                j += 1
            out.append(("name", text[i:j], i))
            i = j
            continue
        raise InvalidInput("trigger", f"position {i}: unexpected character {ch!r}")
    out.append(("end", None, n))
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.pos = 0

    def peek(self) -> tuple[str, Any, int]:
        return self.tokens[self.pos]

    def take(self) -> tuple[str, Any, int]:
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def fail(self, what: str) -> InvalidInput:
        kind, value, at = self.peek()
        got = "end of trigger" if kind == "end" else repr(value)
        return InvalidInput("trigger", f"position {at}: expected {what}, got {got}")

    def expect_op(self, op: str) -> None:
        kind, value, _ = self.peek()
        if kind != "op" or value != op:
            raise self.fail(f"'{op}'")
        self.pos += 1

    def expr(self) -> Trigger:
        terms = [self.conj()]
        while self.peek()[:2] == ("name", "or"):
            self.pos += 1
            terms.append(self.conj())
        return terms[0] if len(terms) == 1 else AnyOf(tuple(_flatten(terms, AnyOf)))

    def conj(self) -> Trigger:
        terms = [self.atom()]
        while self.peek()[:2] == ("name", "and"):
            self.pos += 1
            terms.append(self.atom())
        return terms[0] if len(terms) == 1 else AllOf(tuple(_flatten(terms, AllOf)))

    def atom(self) -> Trigger:
        kind, value, _ = self.peek()
        if kind == "op" and value == "(":
            self.pos += 1
            inner = self.expr()
            self.expect_op(")")
            return inner
        if kind == "name" and value == "exists":
            self.pos += 1
            self.expect_op("(")
            path = self.path()
            self.expect_op(")")
            return Exists(path)
        path = self.path()
        kind, value, _ = self.peek()
        if kind != "op" or value not in ("=", "!="):
            raise self.fail("'=' or '!='")
        self.pos += 1
        return Compare(path, self.literal(), negate=value == "!=")

    def path(self) -> tuple[str, ...]:
        kind, value, at = self.peek()
        if kind != "name" or value in ("and", "or", "exists", "true", "false", "null"):
            raise self.fail("a field name such as event or properties.plan")
        parts = tuple(value.split("."))
        if any(not p for p in parts):
            raise InvalidInput("trigger", f"position {at}: empty segment in field {value!r}")
        self.pos += 1
        return parts

    def literal(self) -> Literal_:
        kind, value, _ = self.peek()
        if kind in ("string", "number"):
            self.pos += 1
            return value  # type: ignore[no-any-return]
        if kind == "name" and value in ("true", "false", "null"):
            self.pos += 1
            return {"true": True, "false": False, "null": None}[value]
        raise self.fail("a value (a quoted string, number, true, false or null)")


def _flatten(terms: list[Trigger], kind: type[AllOf] | type[AnyOf]) -> list[Trigger]:
    out: list[Trigger] = []
    for t in terms:
        if isinstance(t, kind):
            out.extend(t.terms)
        else:
            out.append(t)
    return out


def parse_trigger(text: str) -> Trigger:
    """Parse an FQL trigger; raises :class:`InvalidInput` (field ``trigger``) with the position."""
    if not isinstance(text, str):
        raise InvalidInput("trigger", "must be a string")
    parser = _Parser(text)
    if parser.peek()[0] == "end":
        raise InvalidInput("trigger", "position 0: empty trigger")
    tree = parser.expr()
    if parser.peek()[0] != "end":
        raise parser.fail("'and', 'or' or the end of the trigger")
    return tree
