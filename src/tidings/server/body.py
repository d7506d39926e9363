"""Reading request bodies under a size limit, before anything parses them.

The limit is enforced twice: a declared ``Content-Length`` above it is refused without reading a
byte, and a chunked (or lying) body is counted while it streams and refused the moment it passes
the limit, so a client can never make the server buffer more than ``limit`` bytes. Gzip bodies
(``segment-analytics-python`` can send them) are inflated under the same limit, so a small
compressed bomb cannot expand into a large allocation either; a gzip body is exactly one
member, with nothing after it.

Parsing enforces the one nesting limit (:data:`~tidings.core.bounds.MAX_JSON_DEPTH`), and work
that grows with the body (inflating, parsing, walking) runs on a worker thread once the body
is large (:func:`off_loop`), so one big request never stalls every other on the event loop.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Callable
from typing import Any, TypeVar

import orjson
from starlette.requests import Request

from tidings.core.bounds import depth_message, too_deep
from tidings.core.events import json_type
from tidings.server.errors import ApiError, bad_request

T = TypeVar("T")

OFF_LOOP_BYTES = 256 * 1024
"""Bodies larger than this (and every compressed body) are decoded and parsed on a worker
thread: below it parsing costs well under a millisecond, above it the event loop would stall."""


async def off_loop(request: Request, raw: bytes, work: Callable[[], T]) -> T:
    """Run ``work`` (decoding, parsing, validating ``raw``) inline when the body is small,
    else on a worker thread."""
    encoded = request.headers.get("content-encoding", "identity").strip().lower()
    if len(raw) <= OFF_LOOP_BYTES and encoded in ("", "identity"):
        return work()
    return await asyncio.to_thread(work)


def too_large(limit: int, condition: str = "") -> ApiError:
    when = f" {condition}" if condition else ""
    return ApiError(413, "payload_too_large", f"body: larger than the limit of {limit} bytes{when}")


async def read_raw_body(request: Request, limit: int) -> bytes:
    """The body exactly as sent (what a signature covers), at most ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise ApiError(400, "invalid_header", "Content-Length: must be a non-negative integer")
        if int(declared) > limit:
            raise too_large(limit)
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def decode_content(request: Request, raw: bytes, limit: int) -> bytes:
    """Undo ``Content-Encoding`` (identity or gzip) without exceeding ``limit`` bytes."""
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("", "identity"):
        return raw
    if encoding not in ("gzip", "x-gzip"):
        raise ApiError(
            415, "unsupported_encoding", f"Content-Encoding: {encoding!r} is not supported (gzip)"
        )
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(raw, limit + 1)
    except zlib.error as exc:
        raise ApiError(400, "invalid_body", f"body: not valid gzip ({exc})") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise too_large(limit)
    if not inflater.eof:
        raise ApiError(400, "invalid_body", "body: truncated gzip stream")
    if inflater.unused_data:
        # A second member or trailing bytes: some readers would take them, others not; the
        # body must mean one thing to everyone, so it is refused rather than guessed at.
        raise ApiError(
            400,
            "invalid_body",
            f"body: {len(inflater.unused_data)} bytes after the end of the gzip stream"
            " (one gzip member, nothing after it)",
        )
    return out


NUL_ESCAPE = b"\\u0000"
"""How a NUL character appears in JSON text (a raw NUL byte is not valid JSON)."""


def find_nul(value: object, path: str = "") -> str | None:
    """The path of the first key or string containing a NUL character, or ``None``.

    PostgreSQL text cannot hold NUL, so such input is refused at the edge, naming the field,
    instead of failing inside a transaction.
    """
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if "\x00" in key:
                return path or "body"
            found = find_nul(item, where)
            if found is not None:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = find_nul(item, f"{path}[{i}]")
            if found is not None:
                return found
    return None


def nul_error(path: str) -> ApiError:
    return ApiError(400, "invalid_text", f"{path}: must not contain NUL characters")


def too_deep_error(path: str) -> ApiError:
    return bad_request(path, depth_message(), "too_deep")


def parse_json_object(
    data: bytes, what: str = "body", *, check_nul: bool = True, check_depth: bool = True
) -> dict[str, Any]:
    """Parse a JSON object, answering 400 naming ``what`` for anything else.

    With ``check_nul`` a NUL character anywhere is a 400 naming its path, and with
    ``check_depth`` so is nesting past the limit; endpoints that judge items one by one pass
    ``False`` and check each item (and their envelope) themselves.
    """
    if not data:
        raise ApiError(400, "invalid_json", f"{what}: empty; a JSON object is required")
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, "invalid_json", f"{what}: not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise ApiError(
            400, "invalid_json", f"{what}: must be a JSON object, not {json_type(value)}"
        )
    if check_depth and (found := too_deep(value)) is not None:
        raise too_deep_error(found)
    if check_nul and NUL_ESCAPE in data:
        found = find_nul(value)
        if found is not None:
            raise nul_error(found)
    return value


async def read_json_object(request: Request, limit: int) -> dict[str, Any]:
    """Size-checked, decoded and parsed body of an unsigned endpoint."""
    raw = await read_raw_body(request, limit)
    return await off_loop(
        request, raw, lambda: parse_json_object(decode_content(request, raw, limit))
    )
