"""Audience estimates: how many known devices of an app a Who matches.

The rules are judged by the core (:mod:`tidings.core.campaigns.audience`) on at most
:data:`SAMPLE_SIZE` profiles: the app's profiles with the lowest ``sample_key``, a uniform sample
an index reads directly. Up to that many profiles the count is exact; past it, scaled.
"""

from __future__ import annotations

from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response

from tidings.core.campaigns import AudienceEstimate, audience_rules, estimate
from tidings.core.errors import InvalidCampaign
from tidings.server.admin import app_in_scope
from tidings.server.admin_access import admin_access
from tidings.server.body import read_json_object
from tidings.server.errors import invalid_input, json_response
from tidings.server.profiles import ProfileCountCache
from tidings.server.state import server_state
from tidings.storage import Store

SAMPLE_SIZE: Final = 10_000
"""Profiles judged at most per estimate (the rest is scaled from them): for a Who matching 10%
of devices, a standard error of about 3% of the estimate."""


async def audience_estimate(
    store: Store,
    project_id: str,
    app_id: str,
    targeting: object,
    now_ms: int,
    *,
    counts: ProfileCountCache | None = None,
) -> AudienceEstimate:
    """The estimate for ``targeting`` (raises :class:`InvalidCampaign` for a bad one)."""
    rules = audience_rules(targeting)
    total = await (counts or ProfileCountCache()).total(store, app_id, now_ms)
    sample = await store.profile_sample(
        app_id,
        1 << 32,
        SAMPLE_SIZE,
        project_id=project_id,
        cohort_ids=sorted(rules.cohort_ids),
    )
    # A sample as large as the count means every profile was judged (the count may be older).
    profiles = total if len(sample) >= SAMPLE_SIZE else len(sample)
    return estimate(rules, sample, profiles=profiles, now_ms=now_ms)


async def estimate_route(request: Request) -> Response:
    """``POST /admin/api/apps/{app_id}/audience`` with ``{"targeting": [...]}``."""
    access = await admin_access(request)
    app = await app_in_scope(access, request.path_params["app_id"])
    body: dict[str, Any] = await read_json_object(
        request, server_state(request).settings.max_body_bytes
    )
    state = server_state(request)
    await state.profiles.flush(access.store)  # this process's own updates count too
    try:
        found = await audience_estimate(
            access.store,
            app.project_id,
            app.id,
            body.get("targeting"),
            state.settings.now_ms(),
            counts=state.profile_counts,
        )
    except InvalidCampaign as exc:
        raise invalid_input(exc.errors, "invalid_targeting") from None
    return json_response(found.to_json())
