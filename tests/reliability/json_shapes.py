"""JSON nested as deep as a test needs, including deeper than a serialiser will write."""

from __future__ import annotations

from typing import Any

import orjson


def nested(depth: int, leaf: Any = 1) -> Any:
    """``{"a": {"a": ... leaf}}``, ``depth`` objects deep."""
    value = leaf
    for _ in range(depth):
        value = {"a": value}
    return value


def deep_json(depth: int) -> bytes:
    """The JSON text of :func:`nested` for depths a serialiser refuses to write (orjson
    stops at 255), which a parser still reads (orjson reads 1024)."""
    return b'{"a":' * depth + b"1" + b"}" * depth


def with_raw(body: dict[str, Any], marker: str, raw: bytes) -> bytes:
    """``body`` serialised with the string ``marker`` replaced by the JSON text ``raw``."""
    return orjson.dumps(body).replace(orjson.dumps(marker), raw)
