"""Checks of a submitted campaign that need the database: the cohorts a Who names must exist.

A cohort rule naming a cohort the project does not have would match no device and fail
silently; the admin API and the editor refuse it with the same message, beside the core's own
problems (:func:`tidings.core.campaigns.validate_campaign`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from tidings.core.errors import InvalidCampaign
from tidings.storage import Store

MAX_KNOWN_COHORTS: Final = 10_000
"""Cohorts read to check against at most; a project with more is not checked (bounded work)."""


def _named_cohorts(body: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(path, cohort id)`` of every value of every cohort rule."""
    targeting = body.get("targeting")
    out = []
    for i, item in enumerate(targeting if isinstance(targeting, list) else []):
        rule = item.get("cohort") if isinstance(item, Mapping) else None
        values = rule.get("values") if isinstance(rule, Mapping) else None
        for j, value in enumerate(values if isinstance(values, list) else []):
            if isinstance(value, str) and value:
                out.append((f"targeting[{i}].cohort.values[{j}]", value))
    return out


async def unknown_cohorts(
    store: Store, project_id: str, body: Mapping[str, Any]
) -> list[InvalidCampaign]:
    """A problem for each cohort id the campaign names that the project has no cohort for."""
    named = _named_cohorts(body)
    if not named:
        return []
    cohorts = await store.list_cohorts(project_id, limit=MAX_KNOWN_COHORTS + 1)
    if len(cohorts) > MAX_KNOWN_COHORTS:
        return []
    known = {c.id for c in cohorts}
    return [
        InvalidCampaign(path, f"no cohort {value!r} in this project (import it first)")
        for path, value in named
        if value not in known
    ]
