"""Dashboard sign-in: the admin token in a cookie, a CSRF token derived from it.

The cookie holds the admin token itself (HttpOnly, SameSite=Strict, Secure over HTTPS) and is
checked against the store on every request, so revoking the token (or its expiry) signs the
browser out at once and the server keeps no session table; a token limited to some projects
shows only those. Signing out forgets the cookie and leaves the token valid (revoking is done on
the tokens page or with ``tidings tokens revoke``). SameSite=Strict already keeps the cookie off
cross-site requests; every form POST also carries a CSRF token (an HMAC of the admin token, so it
needs no storage either) and a cross-origin ``Origin`` header is refused.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from tidings.server.admin_access import AdminAccess, access_for_token

COOKIE = "tidings_admin"
CSRF_FIELD = "csrf"
MAX_FORM_BYTES = 1_000_000
COOKIE_MAX_AGE = 7 * 86_400
MAX_TOKEN_LENGTH = 256


class SignInRequired(Exception):
    """Raised by :func:`require_admin`; the dashboard turns it into a redirect to sign-in."""


class FormRejected(Exception):
    """A POST that failed the CSRF or origin check, or a form too large to read."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


Form = dict[str, list[str]]


def csrf_token(admin_token: str) -> str:
    """The per-token CSRF value every dashboard form carries."""
    digest = hmac.new(admin_token.encode(), b"tidings-dashboard-csrf", hashlib.sha256)
    return digest.hexdigest()[:40]


async def current_session(request: Request) -> tuple[str, AdminAccess] | None:
    """The signed-in admin token and what it gives access to, or ``None`` when the cookie is
    absent or its token unknown, revoked or expired."""
    token = request.cookies.get(COOKIE)
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    access = await access_for_token(request, token)
    return (token, access) if access is not None else None


async def current_token(request: Request) -> str | None:
    """The signed-in admin token, or ``None``."""
    session = await current_session(request)
    return session[0] if session is not None else None


async def require_admin(request: Request) -> tuple[str, AdminAccess]:
    session = await current_session(request)
    if session is None:
        raise SignInRequired
    return session


def safe_next(target: str | None) -> str:
    """Only a local path is a valid place to return to after sign-in (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def sign_in_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET":
        target = "/"
    return RedirectResponse("/signin?" + urlencode({"next": target}), status_code=303)


def check_origin(request: Request) -> None:
    """Refuse a POST whose ``Origin`` names another site (belt and braces with SameSite)."""
    origin = request.headers.get("origin")
    if origin is None:
        return
    expected = f"{request.url.scheme}://{request.url.netloc}"
    if origin != expected:
        raise FormRejected(403, "This form was sent from another site and was refused.")


async def read_form(request: Request) -> Form:
    """An ``application/x-www-form-urlencoded`` body as ``{name: [values]}`` (bounded)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_FORM_BYTES:
        raise FormRejected(413, "The form is too large.")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise FormRejected(413, "The form is too large.")
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if body and kind != "application/x-www-form-urlencoded":
        raise FormRejected(415, "Forms must be sent URL-encoded.")
    form: Form = {}
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise FormRejected(400, "The form is not valid UTF-8.") from None
    for key, value in parse_qsl(text, keep_blank_values=True, max_num_fields=5000):
        form.setdefault(key, []).append(value.replace("\x00", ""))
    return form


async def checked_form(request: Request, token: str) -> Form:
    """The form of a signed-in POST, once its origin and CSRF token are known to be ours."""
    check_origin(request)
    form = await read_form(request)
    sent = (form.get(CSRF_FIELD) or [""])[0]
    if not hmac.compare_digest(sent, csrf_token(token)):
        raise FormRejected(403, "The form expired or was not sent by this dashboard. Reload it.")
    return form


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=COOKIE_MAX_AGE,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
