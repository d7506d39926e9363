"""The shapes and helpers of the user-agent rule tables (``uaregexes``, ``uadevices``).

A rule is a list of patterns and the properties its match gives: a property name takes the
capture group at its own position, a ``(name, value)`` pair a fixed value, and a
``(name, function)`` pair the group transformed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Final

Transform = Callable[[str | None], str | None]
Prop = str | tuple[str, str | Transform]
Rules = tuple[tuple[Sequence[str], Sequence[Prop]], ...]

MAX_LENGTH: Final = 255
JS_SPACE: Final = "\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
OUTER_SPACE: Final = re.compile(f"^[{JS_SPACE}]+|[{JS_SPACE}]+$")


def trimmed(value: str | None) -> str | None:
    return None if value is None else OUTER_SPACE.sub("", value)


def spaced(value: str | None) -> str | None:
    return value.replace("_", " ") if value else None


def dots_spaced(value: str | None) -> str | None:
    return value.replace(".", " ") if value else None


def affixed(prefix: str, suffix: str) -> Transform:
    def affix(value: str | None) -> str | None:
        return f"{prefix}{value}{suffix}" if value else None

    return affix


_OLD_SAFARI: Final = (
    ("1.0", "/8"),
    ("1.2", "/1"),
    ("1.3", "/3"),
    ("2.0", "/412"),
    ("2.0.2", "/416"),
    ("2.0.3", "/417"),
    ("2.0.4", "/419"),
)


def old_safari_version(value: str | None) -> str | None:
    """Safari before 3.0 gave a build number ("/412") rather than a version."""
    if not value:
        return None
    for version, build in _OLD_SAFARI:
        if build in value:
            return version
    return None if "/" in value else value
