"""Segment-style mapping language and FQL triggers (sans-IO, pure).

``compile_mapping`` turns a mapping (literals and ``@path`` / ``@template`` / ``@if`` /
``@arrayPath`` / ``@literal`` directives) into a resolver; ``CompiledFields`` adds an action's
typed fields and defaults; ``parse_trigger`` turns FQL into a predicate.
"""

from tidings.core.mapping.directives import (
    compile_mapping,
    json_equal,
    read_roots,
    render_value,
    resolve,
)
from tidings.core.mapping.fields import CompiledFields, Field, FieldType, coerce
from tidings.core.mapping.paths import UNDEFINED, format_path, get_path, parse_path
from tidings.core.mapping.triggers import AllOf, AnyOf, Compare, Exists, Trigger, parse_trigger

__all__ = [
    "UNDEFINED",
    "AllOf",
    "AnyOf",
    "Compare",
    "CompiledFields",
    "Exists",
    "Field",
    "FieldType",
    "Trigger",
    "coerce",
    "compile_mapping",
    "format_path",
    "get_path",
    "json_equal",
    "parse_path",
    "parse_trigger",
    "read_roots",
    "render_value",
    "resolve",
]
