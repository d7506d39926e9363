"""Keyset paging for the store's listings.

A listing is ordered by a few columns that together are unique (``created_at, id``); a page
starts strictly after the sort key of the last row of the previous page. Unlike ``OFFSET``, a
page costs the same however deep it is, and rows added or removed meanwhile never shift what
the next page holds. Row-value comparison (``(a, b) > (?, ?)``) is standard SQL that both
SQLite and PostgreSQL index.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")

After = Sequence[Any] | None
"""The sort key of the last row already seen, or ``None`` for the first page."""


def keyset(columns: Sequence[str], after: After, limit: int | None) -> tuple[str, list[Any]]:
    """``" AND (a, b) > (?, ?) ORDER BY a, b LIMIT ?"`` and its parameters.

    The fragment continues a ``WHERE`` clause. ``after`` must have one value per column.
    """
    params: list[Any] = []
    sql = ""
    if after is not None:
        if len(after) != len(columns):
            raise ValueError(f"a page key needs {len(columns)} values, got {len(after)}")
        sql += f" AND ({', '.join(columns)}) > ({', '.join('?' for _ in columns)})"
        params.extend(after)
    sql += f" ORDER BY {', '.join(columns)}"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return sql, params


def page_of(
    items: Iterable[T], key: Callable[[T], tuple[Any, ...]], after: After, limit: int | None
) -> list[T]:
    """The same page as :func:`keyset` would select, for rows held in memory: sorted by
    ``key``, strictly after ``after``, at most ``limit``."""
    rows = sorted(items, key=key)
    if after is not None:
        start = tuple(after)
        rows = [r for r in rows if key(r) > start]
    return rows[:limit] if limit is not None else rows
