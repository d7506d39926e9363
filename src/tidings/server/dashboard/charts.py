"""Stacked bar charts as inline SVG, drawn on the server: no chart library, no script.

Each chart is an ``<svg role="img">`` with a text title and a ``<title>`` tooltip per bar; the
stats page also prints the same numbers as a table, which is what a screen reader reads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from markupsafe import Markup, escape

PALETTE: Final = (
    "#2563eb",
    "#16a34a",
    "#f59e0b",
    "#dc2626",
    "#7c3aed",
    "#0891b2",
    "#db2777",
    "#65a30d",
    "#9ca3af",
)
STATUS_COLOURS: Final = {
    "SUCCESS": "#16a34a",
    "LOWER_PRIORITY": "#9ca3af",
    "HOLDOUT": "#7c3aed",
    "QUIET_TIME": "#0891b2",
    "SESSION_CAP": "#f59e0b",
    "CAMPAIGN_CAP": "#ea580c",
    "DAILY_CAP": "#db2777",
    "EXPIRED": "#6b7280",
    "shown": "#2563eb",
    "Completed": "#16a34a",
    "Dismissed": "#9ca3af",
    "Unavailable": "#dc2626",
    "SkippedNoPresenter": "#f59e0b",
    "SkippedNoContinuation": "#7c3aed",
}

WIDTH, HEIGHT = 900, 190
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 40


def colour(key: str, index: int) -> str:
    return STATUS_COLOURS.get(key, PALETTE[index % len(PALETTE)])


def _nice_max(value: int) -> int:
    if value <= 5:
        return max(value, 1)
    step: int = 10 ** (len(str(value)) - 1)
    return ((value + step - 1) // step) * step


def stacked_bars(title: str, days: Sequence[str], series: Mapping[str, Sequence[int]]) -> Markup:
    """One bar per day, one stacked segment per series; an empty chart says so."""
    keys = [k for k, values in series.items() if any(values)]
    totals = [sum(series[k][i] for k in keys) for i in range(len(days))]
    label = escape(title)
    if not days or not any(totals):
        return Markup(
            f'<div class="chart-scroll" tabindex="0" role="group" aria-label="{label} (scrolls)">'
            f'<svg class="chart" viewBox="0 0 {WIDTH} 60" role="img"'
            f' aria-label="{label}: no data">'
            f'<text x="{WIDTH // 2}" y="34" text-anchor="middle" class="chart-empty">'
            "No data yet</text></svg></div>"
        )
    top = _nice_max(max(totals))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / len(days)
    bar_w = max(2.0, min(48.0, slot * 0.7))
    parts: list[str] = [
        # A phone scrolls the chart, not the page, so its text never shrinks below 11 px.
        f'<div class="chart-scroll" tabindex="0" role="group" aria-label="{label} (scrolls)">'
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img"'
        f' aria-label="{label}">',
        f"<title>{label}</title>",
    ]
    for tick in (0, top // 2, top):
        y = TOP + plot_h - plot_h * tick / top
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" class="axis">{tick}</text>'
        )
    label_every = max(1, len(days) // 8)
    for i, day in enumerate(days):
        x = LEFT + slot * i + (slot - bar_w) / 2
        y = TOP + plot_h
        for k_index, key in enumerate(keys):
            value = series[key][i]
            if not value:
                continue
            h = plot_h * value / top
            y -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                f'fill="{colour(key, k_index)}" class="segment">'
                f"<title>{escape(day)} {escape(key)}: {value}</title></rect>"
            )
        if i % label_every == 0:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" '
                f'class="axis">{escape(day[5:])}</text>'
            )
    legend_x = LEFT
    for k_index, key in enumerate(keys):
        parts.append(
            f'<rect x="{legend_x}" y="{HEIGHT - 14}" width="10" height="10" '
            f'fill="{colour(key, k_index)}"/>'
            f'<text x="{legend_x + 14}" y="{HEIGHT - 5}" class="legend">{escape(key)}</text>'
        )
        legend_x += 24 + 8 * len(key)
    parts.append("</svg></div>")
    return Markup("".join(parts))
