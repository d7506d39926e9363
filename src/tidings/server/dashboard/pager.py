"""Paged dashboard lists: the same cursors as the admin API, as "Next page" links.

A list page reads ``?cursor=`` (or its own parameter name when a page shows two lists), asks
for one page of the listing and links to the next one; other query parameters (a state tab, a
filter) are kept in the links.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from starlette.requests import Request

PAGE_SIZE = 100
"""Rows per dashboard list page."""


@dataclass(frozen=True, slots=True)
class Pager:
    """Where the next page and the first page of one list are (``None`` when there is none)."""

    next_url: str | None
    first_url: str | None


def pager(request: Request, next_cursor: str | None, param: str = "cursor") -> Pager:
    """Links for one list of ``request``'s page whose cursor travels in ``param``."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in (param, "notice")]

    def url(extra: list[tuple[str, str]]) -> str:
        query = urlencode(kept + extra)
        return request.url.path + (f"?{query}" if query else "")

    return Pager(
        next_url=url([(param, next_cursor)]) if next_cursor else None,
        first_url=url([]) if request.query_params.get(param) else None,
    )
