"""Amplitude cohorts of an app's project: the REST endpoint, the data import key, the cohorts.

What Braze's Amplitude partner page shows: the REST endpoint and the data import key an
Amplitude admin enters in Amplitude's Braze destination, to create (a new key invalidates the
old one) or revoke without a replacement, and the cohorts imported so far. A new key is shown
on the page that made it and never again (the store keeps only its hash). Like the delivery
pages, these are a client of the admin API, called in-process with the signed-in token.
"""

from __future__ import annotations

from typing import Any, Final

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from tidings.server.dashboard.delivery_views import AdminApiCall
from tidings.server.dashboard.pages import access_of, app_context, signed_in
from tidings.server.dashboard.render import render
from tidings.server.dashboard.session import checked_form

COHORT_PATHS: Final = ("/partners/amplitude/cohorts", "/partners/amplitude/cohorts/users")
COHORTS_SHOWN: Final = 200
"""Cohorts listed on the page at most (the admin API pages through them all)."""
NOTICES: Final = {"revoked": "The data import key was revoked. Cohort imports now fail."}


def _refusal(data: Any) -> str:
    """The admin API's error message (it names the field)."""
    error = data.get("error") if isinstance(data, dict) else None
    return str(error.get("message")) if isinstance(error, dict) else "The request was refused."


async def _page(
    request: Request,
    token: str,
    *,
    new_key: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    access = access_of(request)
    ctx = await app_context(access, request.path_params["app_id"])
    base = str(request.base_url).rstrip("/")
    return render(
        request,
        "cohorts.html",
        {
            **ctx.as_context(),
            "endpoint": base,
            "urls": [base + path for path in COHORT_PATHS],
            "cohorts": await access.store.list_cohorts(ctx.project.id, limit=COHORTS_SHOWN),
            "new_key": new_key,
            "error": error,
            "notice": NOTICES.get(request.query_params.get("notice", "")),
        },
        token=token,
        status=status,
    )


@signed_in
async def cohorts_page(request: Request, token: str) -> Response:
    return await _page(request, token)


@signed_in
async def key_action(request: Request, token: str) -> Response:
    """``create`` (or rotate) a data import key, shown once; ``revoke`` it."""
    form = await checked_form(request, token)
    app_id = request.path_params["app_id"]
    ctx = await app_context(access_of(request), app_id)
    path = f"/admin/api/projects/{ctx.project.id}/data-import-key"
    api = AdminApiCall(request, token)
    action = (form.get("action") or [""])[0]
    if action == "create":
        status, data = await api("POST", path)
        if status != 201 or not isinstance(data, dict):
            return await _page(request, token, error=_refusal(data), status=400)
        return await _page(request, token, new_key=str(data["dataImportKey"]))
    if action == "revoke":
        status, data = await api("DELETE", path)
        if status != 204:
            return await _page(request, token, error=_refusal(data), status=400)
        return RedirectResponse(f"/apps/{app_id}/cohorts?notice=revoked", status_code=303)
    return await _page(request, token, error=f"Unknown action {action!r}.", status=400)
