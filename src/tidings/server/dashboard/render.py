"""Jinja2 templates (package data in ``tidings/server/templates``) and the page helper.

Autoescaping is on for every template; the only markup built in Python is the SVG of
:mod:`.charts`, which escapes its own text.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from tidings.server.dashboard import choices, paths
from tidings.server.dashboard.forms import SLOT_LABELS, SLOTS, ms_to_local
from tidings.server.dashboard.session import CSRF_FIELD, csrf_token
from tidings.server.dashboard.wording import STATE_LABELS


def _when(ms: object) -> str:
    """Epoch ms → ``2026-11-28 09:15:02 UTC``; anything else as text (``—`` for none)."""
    if isinstance(ms, int) and not isinstance(ms, bool):
        try:
            stamp = datetime.fromtimestamp(ms / 1000, UTC)
        except (OverflowError, OSError, ValueError):
            return str(ms)
        return stamp.strftime("%Y-%m-%d %H:%M:%S UTC")
    return "—" if ms is None else str(ms)


def _join_list(value: object) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


ENV = Environment(
    loader=PackageLoader("tidings.server", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
ENV.filters["when"] = _when
ENV.filters["local"] = ms_to_local
ENV.filters["joinlist"] = _join_list
ENV.filters["domid"] = paths.dom_id
ENV.globals["SLOTS"] = SLOTS
ENV.globals["SLOT_LABELS"] = SLOT_LABELS
ENV.globals["jget"] = paths.get
ENV.globals["STATE_LABELS"] = STATE_LABELS
ENV.globals.update(choices.ALL)


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    token: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    """A page; signed-in pages get the CSRF token their forms must carry."""
    page = ENV.get_template(template).render(
        request=request,
        csrf_field=CSRF_FIELD,
        csrf=csrf_token(token) if token else "",
        signed_in=token is not None,
        **context,
    )
    response = HTMLResponse(page, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'"
    )
    response.headers["Referrer-Policy"] = "same-origin"
    return response
