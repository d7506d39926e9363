"""Campaign results for the admin API and the dashboard: the range, the counts, the CSV.

The arithmetic is :mod:`tidings.core.campaigns.results`; this module reads the range from a
request (UTC days, ``from`` and ``to`` inclusive, last 30 days by default), asks the store for the
counts and names the goals and treatments from the campaign body.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response

from tidings.core.campaigns import Results, build_results, day_range, results_csv_rows
from tidings.core.campaigns.results import MAX_RANGE_DAYS
from tidings.server.admin import find_campaign
from tidings.server.admin_access import admin_access
from tidings.server.errors import bad_request, json_response
from tidings.storage import Store, StoredCampaign

DEFAULT_DAYS: Final = 30
"""The range when ``from`` is not given: the 30 days that end with ``to`` (default today)."""


def today(now_ms: int | None = None) -> str:
    """Today's UTC day (``now_ms`` for tests)."""
    at = time.time() if now_ms is None else now_ms / 1000
    return datetime.fromtimestamp(at, UTC).date().isoformat()


def _day(value: str, name: str) -> str:
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise bad_request(name, "must be a day as YYYY-MM-DD") from None


def requested_range(
    params: Mapping[str, str], *, default_days: int = DEFAULT_DAYS, now_ms: int | None = None
) -> list[str]:
    """Every day of the range the query asks for; a 400 naming ``from`` or ``to`` otherwise."""
    raw_to = params.get("to") or today(now_ms)
    last = _day(raw_to, "to")
    raw_from = params.get("from")
    if raw_from:
        first = _day(raw_from, "from")
    else:
        first = (date.fromisoformat(last) - timedelta(days=default_days - 1)).isoformat()
    if first > last:
        raise bad_request("from", "must be on or before to")
    try:
        return day_range(first, last)
    except ValueError:
        raise bad_request("from", f"the range may cover at most {MAX_RANGE_DAYS} days") from None


def goal_names(body: Mapping[str, Any]) -> list[str]:
    """Each goal's event name, in order (what results and the CSV call it)."""
    goals = body.get("conversions")
    out: list[str] = []
    for goal in goals if isinstance(goals, list) else []:
        event = goal.get("event") if isinstance(goal, Mapping) else None
        name = event.get("name") if isinstance(event, Mapping) else None
        out.append(name if isinstance(name, str) and name else f"Goal {len(out) + 1}")
    return out


def treatment_ids(body: Mapping[str, Any]) -> list[str]:
    """The campaign's treatment ids in order (``["0"]`` when it has none)."""
    treatments = body.get("treatments")
    ids = [
        str(t["id"])
        for t in (treatments if isinstance(treatments, list) else [])
        if isinstance(t, Mapping) and t.get("id") is not None
    ]
    return ids or ["0"]


async def campaign_results(store: Store, campaign: StoredCampaign, days: list[str]) -> Results:
    """The campaign's results over ``days`` (consecutive, oldest first)."""
    exposures, conversions = await store.conversion_counts(campaign.id, days[0], days[-1])
    return build_results(
        campaign.id,
        goal_names(campaign.body),
        treatment_ids(campaign.body),
        days,
        exposures=exposures,
        conversions=conversions,
    )


def csv_text(results: Results) -> str:
    """The CSV export of results (one row per day, group and goal)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(results_csv_rows(results))
    return out.getvalue()


def csv_response(results: Results) -> Response:
    name = f"campaign-{results.campaign_id}-{results.days[0]}-{results.days[-1]}.csv"
    return Response(
        csv_text(results),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


async def results_endpoint(request: Request) -> Response:
    """``GET /admin/api/campaigns/{id}/results?from=&to=[&format=csv]``."""
    access = await admin_access(request)
    campaign = await find_campaign(access, request.path_params["campaign_id"])
    params = request.query_params
    days = requested_range(params)
    fmt = params.get("format", "json")
    if fmt not in ("json", "csv"):
        raise bad_request("format", "must be json or csv")
    results = await campaign_results(access.store, campaign, days)
    if fmt == "csv":
        return csv_response(results)
    return json_response(results.to_json())
