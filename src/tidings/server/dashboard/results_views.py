"""The campaign results page: conversions per treatment and control, lift, and a verdict.

The range is the last 7, 30 or 90 UTC days (``?range=``) or a custom ``from``/``to``; every day
of it is on the axis, an empty day as zero. The numbers are those of the admin API's
``/results`` (the same :func:`tidings.server.results.campaign_results`), and the CSV link
downloads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response

from tidings.core.campaigns import GroupResult, Results
from tidings.core.campaigns.results import Interval
from tidings.server.dashboard.charts import stacked_bars
from tidings.server.dashboard.pages import access_of, app_context, campaign_or_404, signed_in
from tidings.server.dashboard.render import render
from tidings.server.results import campaign_results, csv_response, requested_range

RANGES: Final = (7, 30, 90)
"""The preset ranges of the picker, in days."""


def rate_text(value: float | None) -> str:
    """A rate as a percentage with one decimal (``—`` when there is nothing to divide)."""
    return "—" if value is None else f"{value * 100:.1f}%"


def interval_text(interval: Interval | None, *, signed: bool = False) -> str:
    """``a to b``: an interval in percent (``—`` when undefined)."""
    if interval is None:
        return "—"
    low, high = interval
    form = "{:+.1f}%" if signed else "{:.1f}%"
    return f"{form.format(low * 100)} to {form.format(high * 100)}"


def lift_text(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:+.1f}%"


@dataclass(frozen=True, slots=True)
class Row:
    """One group's line in a goal's table, formatted."""

    key: str
    label: str
    exposed: int
    converted: int
    repeats: int
    rate: str
    interval: str
    lift: str
    lift_interval: str
    verdict: str


def _rows(groups: tuple[GroupResult, ...], goal: int) -> list[Row]:
    out = []
    for g in groups:
        r = g.goals[goal]
        out.append(
            Row(
                key="control" if g.treatment_id is None else g.treatment_id,
                label=g.label,
                exposed=g.exposed,
                converted=r.converted,
                repeats=r.repeats,
                rate=rate_text(r.rate),
                interval=interval_text(r.interval),
                lift="" if g.treatment_id is None else lift_text(r.lift),
                lift_interval=""
                if g.treatment_id is None
                else interval_text(r.lift_interval, signed=True),
                verdict=r.verdict,
            )
        )
    return out


def _range_choice(params: Any) -> tuple[str, dict[str, str]]:
    """Which picker choice is current (``"7"``/``"30"``/``"90"``/``"custom"``) and the query
    the range is read from."""
    if params.get("from") or params.get("to"):
        return "custom", {k: params[k] for k in ("from", "to") if params.get(k)}
    choice = params.get("range", "30")
    return (choice, {}) if choice in {str(n) for n in RANGES} else ("30", {})


def _charts(results: Results) -> dict[str, Any]:
    days = list(results.days)
    labels = [g.label for g in results.groups]
    exposed = {
        label: [day.groups[i][1] for day in results.by_day] for i, label in enumerate(labels)
    }
    charts = [stacked_bars("Exposed per day, by group", days, exposed)]
    for goal, name in enumerate(results.goals):
        series = {
            label: [day.groups[i][2][goal] for day in results.by_day]
            for i, label in enumerate(labels)
        }
        charts.append(stacked_bars(f"Conversions to {name} per day, by group", days, series))
    return {"exposed_chart": charts[0], "goal_charts": charts[1:]}


@signed_in
async def results_page(request: Request, token: str) -> Response:
    access = access_of(request)
    campaign = await campaign_or_404(access, request.path_params["campaign_id"])
    ctx = await app_context(access, campaign.app_id)
    choice, query = _range_choice(request.query_params)
    days = requested_range(query, default_days=int(choice) if choice != "custom" else 30)
    results = await campaign_results(access.store, campaign, days)
    csv_query = f"from={days[0]}&to={days[-1]}"
    return render(
        request,
        "results.html",
        {
            **ctx.as_context(),
            "campaign": campaign,
            "results": results,
            "choice": choice,
            "ranges": RANGES,
            "first_day": days[0],
            "last_day": days[-1],
            "csv_url": f"/campaigns/{campaign.id}/results.csv?{csv_query}",
            "tables": [(i, name, _rows(results.groups, i)) for i, name in enumerate(results.goals)],
            **_charts(results),
        },
        token=token,
    )


@signed_in
async def results_csv(request: Request, token: str) -> Response:
    access = access_of(request)
    campaign = await campaign_or_404(access, request.path_params["campaign_id"])
    days = requested_range(request.query_params)
    return csv_response(await campaign_results(access.store, campaign, days))
