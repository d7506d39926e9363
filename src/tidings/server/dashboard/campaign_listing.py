"""The campaign list's reading: tabs, search by name, sort and pages, and the archive flag.

The list is filtered and sorted in the server (not in SQL) over at most :data:`LIST_LIMIT`
campaigns of one app: an app holds tens to hundreds of campaigns, search is a case-insensitive
"name contains", and a sort by name or state would need indexes on the campaign body that no
other reader wants. Pages are offsets into the sorted list (a stable order: the sort key, then
created time, then id).

Archived is a flag in the campaign body (``"archived": true``), not a state: the state machine
(Draft → Active → Stopped → Active) and the API's states stay as they are. Only a Draft or
Stopped campaign can be archived, an archived one cannot start (here and in the admin API), and
the configuration served to devices leaves archived campaigns out. Archived campaigns have their
own tab and are hidden from every other tab.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from tidings.server.dashboard.pager import PAGE_SIZE
from tidings.server.errors import bad_request
from tidings.storage import CAMPAIGN_STATES, Store, StoredCampaign

ARCHIVED: Final = "Archived"
TABS: Final = ("All", *CAMPAIGN_STATES, ARCHIVED)
LIST_LIMIT: Final = 10_000
"""Campaigns of one app the list reads at most."""
READ_BATCH: Final = 1000
SORTS: Final = ("created", "name", "state")
SEARCH_CHARS: Final = 200
STATE_ORDER: Final = {"Active": 0, "Draft": 1, "Cancel": 2}
"""Sorted by state: live ones first, then drafts, then stopped ones."""


def is_archived(body: Mapping[str, Any]) -> bool:
    return body.get("archived") is True


def _name(c: StoredCampaign) -> str:
    name = c.body.get("name")
    return name if isinstance(name, str) and name else c.id


_KEYS: Final[dict[str, Callable[[StoredCampaign], tuple[Any, ...]]]] = {
    "created": lambda c: (c.created_at, c.id),
    "name": lambda c: (_name(c).casefold(), c.created_at, c.id),
    "state": lambda c: (STATE_ORDER.get(c.state, 9), c.created_at, c.id),
}


def _offset(raw: str) -> int:
    if not raw.isdigit() or len(raw) > 8:
        raise bad_request("offset", "not a page of this list (a whole number of rows)")
    return int(raw)


@dataclass(frozen=True, slots=True)
class ListQuery:
    """What the list page was asked for (unknown values fall back to the defaults)."""

    tab: str = "All"
    search: str = ""
    sort: str = "created"
    descending: bool = True
    offset: int = 0

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> ListQuery:
        tab = params.get("state", "All")
        sort = params.get("sort", "created")
        raw = params.get("offset", "0")
        return cls(
            tab=tab if tab in TABS else "All",
            search=params.get("q", "").strip()[:SEARCH_CHARS],
            sort=sort if sort in SORTS else "created",
            descending=params.get("order", "desc" if sort == "created" else "asc") == "desc",
            offset=_offset(raw),
        )


@dataclass(frozen=True, slots=True)
class ListPage:
    campaigns: list[StoredCampaign]
    counts: dict[str, int]
    next_offset: int | None
    truncated: bool


async def _all_campaigns(s: Store, app_id: str) -> tuple[list[StoredCampaign], bool]:
    out: list[StoredCampaign] = []
    after: tuple[Any, ...] | None = None
    while len(out) < LIST_LIMIT:
        batch = await s.list_campaigns(app_id, after=after, limit=READ_BATCH)
        out.extend(batch)
        if len(batch) < READ_BATCH:
            return out[:LIST_LIMIT], False
        after = (batch[-1].created_at, batch[-1].id)
    return out[:LIST_LIMIT], True


def _in_tab(c: StoredCampaign, tab: str) -> bool:
    if tab == ARCHIVED:
        return is_archived(c.body)
    return not is_archived(c.body) and tab in ("All", c.state)


async def read_list(s: Store, app_id: str, query: ListQuery) -> ListPage:
    """One page of the app's campaigns for ``query``, and every tab's count."""
    everything, truncated = await _all_campaigns(s, app_id)
    counts = {t: sum(1 for c in everything if _in_tab(c, t)) for t in TABS}
    needle = query.search.casefold()
    chosen = [
        c
        for c in everything
        if _in_tab(c, query.tab) and (not needle or needle in _name(c).casefold())
    ]
    chosen.sort(key=_KEYS[query.sort], reverse=query.descending)
    end = query.offset + PAGE_SIZE
    return ListPage(
        campaigns=chosen[query.offset : end],
        counts=counts,
        next_offset=end if end < len(chosen) else None,
        truncated=truncated,
    )


def duplicate_body(body: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a campaign's body for a new Draft: a fresh id, "<name> (copy)", not archived."""
    copy = {k: v for k, v in body.items() if k not in ("id", "createdAt", "state", "archived")}
    name = body.get("name")
    copy["name"] = f"{name} (copy)" if isinstance(name, str) and name else "Copy"
    return copy
