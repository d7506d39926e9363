"""JSON paths of the mapping language: ``$.a.b``, ``$.a[0]``, ``$.a["key with spaces"]``.

Paths are parsed once (and cached) into a tuple of segments, so resolving a mapping on the hot path
is a plain walk over dicts and lists. A missing step yields :data:`UNDEFINED`, never an exception:
in Segment's mapping kit a missing value is *undefined*, which is different from JSON ``null``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any, Final

from tidings.core.errors import InvalidInput


class _Undefined:
    """The one "no value here" marker: not ``None`` (JSON null), falsy, and a singleton."""

    __slots__ = ()
    _instance: _Undefined | None = None

    def __new__(cls) -> _Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNDEFINED"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "UNDEFINED"


UNDEFINED: Final = _Undefined()
Segment = str | int
Path = tuple[Segment, ...]

_IDENT_STOP: Final = frozenset(".[")


@lru_cache(maxsize=4096)
def parse_path(path: str, field: str = "@path") -> Path:
    """Split a path into segments; ``$`` alone (or ``""``) is the root.

    Accepts an optional leading ``$.`` (Segment strips it) and both ``a.0`` and ``a[0]`` for list
    indexes. Raises :class:`InvalidInput` naming ``field`` and the character position.
    """
    if path.startswith("$."):
        text = path[2:]
    elif path == "$" or path.startswith("$["):
        text = path[1:]
    else:
        text = path
    offset = len(path) - len(text)
    segments: list[Segment] = []
    i, n = 0, len(text)
    expect_segment = True
    while i < n:
        ch = text[i]
        if ch == "[":
            end = text.find("]", i)
            if end < 0:
                raise InvalidInput(field, f"position {offset + i}: unclosed '[' in path {path!r}")
            inner = text[i + 1 : end].strip()
            if len(inner) >= 2 and inner[0] == inner[-1] and inner[0] in "\"'":
                segments.append(inner[1:-1])
            elif inner.isdigit():
                segments.append(int(inner))
            else:
                raise InvalidInput(
                    field,
                    f"position {offset + i}: expected an index or quoted key in {path!r}",
                )
            i = end + 1
            expect_segment = False
        elif ch == ".":
            if expect_segment:
                raise InvalidInput(field, f"position {offset + i}: empty segment in path {path!r}")
            i += 1
            expect_segment = True
            if i == n:
                raise InvalidInput(field, f"position {offset + i}: path {path!r} ends with '.'")
        else:
            if not expect_segment:
                raise InvalidInput(field, f"position {offset + i}: expected '.' or '[' in {path!r}")
            start = i
            while i < n and text[i] not in _IDENT_STOP:
                i += 1
            segments.append(text[start:i])
            expect_segment = False
    return tuple(segments)


def get_path(data: Any, segments: Path) -> Any:
    """The value at ``segments`` inside ``data``, or :data:`UNDEFINED` when any step is missing."""
    current = data
    for seg in segments:
        if isinstance(current, dict):
            key = seg if isinstance(seg, str) else str(seg)
            if key not in current:
                return UNDEFINED
            current = current[key]
        elif isinstance(current, list):
            if isinstance(seg, int):
                index = seg
            elif seg.isdigit():
                index = int(seg)
            else:
                return UNDEFINED
            if index >= len(current):
                return UNDEFINED
            current = current[index]
        else:
            return UNDEFINED
    return current


def compile_getter(segments: Path) -> Callable[[Any], Any]:
    """A lookup function for one parsed path; paths of plain keys skip the general walk."""
    if not all(isinstance(seg, str) and not seg.isdigit() for seg in segments):
        return lambda data: get_path(data, segments)
    keys = tuple(str(seg) for seg in segments)
    # Paths of one to three keys (nearly every mapping path) are unrolled: a mapping applies
    # dozens of them per message, most of which miss, and the loop costs more than the lookups.
    if len(keys) == 1:
        (k0,) = keys

        def getter1(data: Any) -> Any:
            return data.get(k0, UNDEFINED) if isinstance(data, dict) else UNDEFINED

        return getter1
    if len(keys) == 2:
        k0, k1 = keys

        def getter2(data: Any) -> Any:
            if isinstance(data, dict):
                first = data.get(k0)
                if isinstance(first, dict):
                    return first.get(k1, UNDEFINED)
            return UNDEFINED

        return getter2
    if len(keys) == 3:
        k0, k1, k2 = keys

        def getter3(data: Any) -> Any:
            if isinstance(data, dict):
                first = data.get(k0)
                if isinstance(first, dict):
                    second = first.get(k1)
                    if isinstance(second, dict):
                        return second.get(k2, UNDEFINED)
            return UNDEFINED

        return getter3

    def getter(data: Any) -> Any:
        current = data
        for key in keys:
            if not isinstance(current, dict):
                return UNDEFINED
            current = current.get(key, UNDEFINED)
            if current is UNDEFINED:
                return UNDEFINED
        return current

    return getter


def format_path(segments: Path) -> str:
    """The canonical text of a parsed path (``parse_path(format_path(p)) == p``)."""
    out = ["$"]
    for seg in segments:
        if isinstance(seg, int):
            out.append(f"[{seg}]")
        elif seg and not (set(seg) & set(".[]\"'")) and not seg.isdigit():
            out.append(f".{seg}")
        elif '"' not in seg:
            out.append(f'["{seg}"]')
        else:
            out.append(f"['{seg}']")
    return "".join(out)
