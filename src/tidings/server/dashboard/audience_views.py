"""The editor's audience estimate: "about N devices (M seen in the last 30 days) match Who".

The editor posts its whole form here as the Who changes (debounced in ``dashboard.js``); the
form is read exactly as a save reads it, so the estimate is for the rules on screen.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from tidings.core.campaigns import AudienceEstimate
from tidings.core.errors import InvalidCampaign
from tidings.server.audience import audience_estimate
from tidings.server.dashboard import wording
from tidings.server.dashboard.forms import campaign_from_form
from tidings.server.dashboard.pages import access_of, app_context, signed_in
from tidings.server.dashboard.session import checked_form
from tidings.server.errors import json_response
from tidings.server.state import server_state


def _devices(n: int) -> str:
    return f"{n:,} device{'' if n == 1 else 's'}"


def describe(found: AudienceEstimate) -> str:
    """The sentence the editor shows."""
    if found.profiles == 0:
        return "No devices are known yet: the estimate starts once devices upload events."
    about = "" if found.exact else "About "
    text = (
        f"{about}{_devices(found.devices)} ({found.recent:,} seen in the last 30 days) "
        f"match Who, of {_devices(found.profiles)} known."
    )
    if found.sampled < found.profiles:
        text += f" Estimated from a sample of {found.sampled:,}."
    if found.approximate_rules:
        rules = ", ".join(wording.label(p) for p in found.approximate_rules)
        text += (
            f" Event-history rules ({rules}) depend on each device's own history, which the "
            "server does not keep, so they are not counted: fewer devices may match."
        )
    return text


@signed_in
async def estimate_page(request: Request, token: str) -> Response:
    """``POST /apps/{app_id}/audience``: the editor's form in, the estimate as JSON out."""
    form = await checked_form(request, token)
    access = access_of(request)
    ctx = await app_context(access, request.path_params["app_id"])
    draft = campaign_from_form(form)
    state = server_state(request)
    await state.profiles.flush(access.store)
    try:
        found = await audience_estimate(
            access.store,
            ctx.project.id,
            ctx.app.id,
            draft.get("targeting"),
            state.settings.now_ms(),
            counts=state.profile_counts,
        )
    except InvalidCampaign as exc:
        problems = wording.problems(exc.errors)
        text = "No estimate until Who is complete: " + "; ".join(p.summary for p in problems)
        return json_response({"text": text, "complete": False})
    return json_response({"text": describe(found), "complete": True, **found.to_json()})
