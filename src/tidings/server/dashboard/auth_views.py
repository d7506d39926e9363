"""Sign-in and sign-out."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from tidings.server.dashboard.pages import error_page, signed_in, store
from tidings.server.dashboard.render import render
from tidings.server.dashboard.session import (
    FormRejected,
    check_origin,
    checked_form,
    clear_session_cookie,
    current_token,
    read_form,
    safe_next,
    set_session_cookie,
)


async def sign_in_page(request: Request) -> Response:
    if await current_token(request) is not None:
        return RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    return render(request, "signin.html", {"next": safe_next(request.query_params.get("next"))})


async def sign_in(request: Request) -> Response:
    try:
        check_origin(request)
        form = await read_form(request)
    except FormRejected as exc:
        return await error_page(request, exc.status, exc.message)
    token = (form.get("token") or [""])[0].strip()
    target = safe_next((form.get("next") or ["/"])[0])
    if not token or len(token) > 256 or not await store(request).verify_admin_token(token):
        return render(
            request,
            "signin.html",
            {"next": target, "error": "That admin token is unknown or revoked."},
            status=401,
        )
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(request, response, token)
    return response


@signed_in
async def sign_out(request: Request, token: str) -> Response:
    await checked_form(request, token)
    response = RedirectResponse("/signin", status_code=303)
    clear_session_cookie(response)
    return response
