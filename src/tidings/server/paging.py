"""Paged listings: ``?limit=`` and ``?cursor=`` in, ``{"items": [...], "next": ...}`` out.

Every admin list endpoint (and every dashboard list page) returns at most ``limit`` items
(default :data:`DEFAULT_LIMIT`, at most :data:`MAX_LIMIT`) and, when more follow, a ``next``
cursor to pass back as ``?cursor=``; ``next`` is ``null`` on the last page. A cursor is opaque
to clients: it is the sort key of the last item returned plus the name of the listing it
belongs to, so a page starts exactly after the previous one however the list changed meanwhile,
and a cursor of one listing is refused by another (400 ``invalid_cursor``).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar

import orjson

from tidings.server.errors import ApiError, bad_request

T = TypeVar("T")
Key = tuple[Any, ...]

DEFAULT_LIMIT: Final = 100
MAX_LIMIT: Final = 1000
MAX_CURSOR_LENGTH: Final = 2048


@dataclass(frozen=True, slots=True)
class PageQuery:
    """One page of a listing: how many items, and the key to start after (``None``: first)."""

    listing: str
    limit: int
    after: Key | None


def encode_cursor(listing: str, key: Sequence[Any]) -> str:
    """The opaque cursor for "after ``key`` in ``listing``"."""
    raw = orjson.dumps([listing, *key])
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _invalid_cursor() -> ApiError:
    return ApiError(400, "invalid_cursor", "cursor: not a cursor of this listing")


def decode_cursor(cursor: str, listing: str, shape: Sequence[type]) -> Key:
    """The key a cursor of ``listing`` holds, checked against ``shape`` (one type per value)."""
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise _invalid_cursor()
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = orjson.loads(raw)
    except (binascii.Error, ValueError):
        raise _invalid_cursor() from None
    if not isinstance(value, list) or len(value) != len(shape) + 1 or value[0] != listing:
        raise _invalid_cursor()
    key = tuple(value[1:])
    for item, kind in zip(key, shape, strict=True):
        if type(item) is not kind:
            raise _invalid_cursor()
    return key


def page_query(
    params: Mapping[str, str], listing: str, shape: Sequence[type], default: int = DEFAULT_LIMIT
) -> PageQuery:
    """Read ``limit`` and ``cursor`` from query parameters (400 naming the parameter)."""
    raw = params.get("limit")
    limit = default
    if raw is not None:
        if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
            raise bad_request("limit", f"must be an integer between 1 and {MAX_LIMIT}")
        limit = int(raw)
    cursor = params.get("cursor")
    after = decode_cursor(cursor, listing, shape) if cursor else None
    return PageQuery(listing, limit, after)


def page_body(
    fetched: Sequence[T],
    query: PageQuery,
    key: Callable[[T], Key],
    render: Callable[[T], Any],
) -> dict[str, Any]:
    """``{"items", "next"}`` from up to ``limit + 1`` items fetched after the query's key (the
    extra item only says whether another page follows)."""
    items = fetched[: query.limit]
    more = len(fetched) > query.limit
    return {
        "items": [render(item) for item in items],
        "next": encode_cursor(query.listing, key(items[-1])) if more and items else None,
    }


def page_in_memory(items: Iterable[T], query: PageQuery, key: Callable[[T], Key]) -> list[T]:
    """Up to ``limit + 1`` of ``items`` after the query's key, in key order: for listings that
    are filtered in Python (configuration documents), so they page exactly like the others."""
    ordered = sorted(items, key=key)
    if query.after is not None:
        after = query.after
        ordered = [item for item in ordered if key(item) > after]
    return ordered[: query.limit + 1]
