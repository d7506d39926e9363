"""Subscriptions' mappings as generated functions: the text from the core, compiled here.

:func:`~tidings.core.mapping.codegen.fields_source` writes a mapping's fields as one
straight-line function (paths read once, no closure per directive); this module turns that text
into the function. It is done once per subscription, when the subscription is parsed, and runs for
every message afterwards: about a third of the interpreter's cost per event. ``CompiledFields``
(the interpreter) stays the reference: ``preview`` and delivery both use the generated function,
and tests hold it to the interpreter's output and errors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tidings.core.mapping import CompiledFields
from tidings.core.mapping.codegen import FUNCTION_NAME, fields_source

FieldsFunction = Callable[[Any], dict[str, Any]]


def generated_fields(fields: CompiledFields, label: str = "mapping") -> FieldsFunction:
    """``fields.apply`` as a generated function (same values, same errors)."""
    source, names = fields_source(fields.specs)
    try:
        code = compile(source, f"<{label}>", "exec")
    except SyntaxError as exc:
        raise SyntaxError(f"{exc}\n{source}") from None
    namespace: dict[str, Any] = dict(names)
    exec(code, namespace)  # our own generated text: only names, constants and dict lookups
    function: FieldsFunction = namespace[FUNCTION_NAME]
    return function
