"""Destinations (every kind) and stream sinks of an app: list, add, edit, pause, and dead
letters with retry / discard. The destinations page knows no kind: each kind of the registry
offers its own starting configuration.

These pages are a client of the admin API (``/admin/api/apps/{app}/destinations`` and
``.../streams``), called in-process with the signed-in admin token. Their validation, their
pipeline hooks and their error messages (which name the offending field) stay in one place, the
API, and the pages follow it as it grows: secrets come back masked, and an edit that leaves the
mask in place keeps the stored secret. Lists are paged with the API's cursors (``?cursor=`` for
the list, ``?letters=`` for an item's dead letters).
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import urlencode

import httpx
import orjson
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from tidings.destinations.kinds import KINDS as DESTINATION_KINDS
from tidings.server.body import parse_json_object
from tidings.server.dashboard.pager import Pager, pager
from tidings.server.dashboard.pages import PageNotFound, access_of, app_context, signed_in
from tidings.server.dashboard.render import render
from tidings.server.dashboard.session import Form, checked_form, safe_next
from tidings.server.errors import ApiError

KINDS: Final = {
    "destinations": {
        "title": "Destinations",
        "noun": "destination",
        "editable": True,
        "retry": True,
        "example": None,  # the chosen kind's own (tidings.destinations.kinds)
    },
    "streams": {
        "title": "Stream sinks",
        "noun": "stream sink",
        "editable": False,
        "retry": False,
        "example": {"kind": "jsonl", "name": "Local files", "settings": {"directory": "./stream"}},
    },
}


NOTICES: Final = {
    "added": "Added.",
    "saved": "Saved.",
    "pause": "Paused.",
    "resume": "Resumed.",
    "deleted": "Deleted.",
    "retry": "Dead letters queued for another try.",
    "discard": "Dead letters discarded.",
}


class AdminApiCall:
    """One in-process request to the admin API as the signed-in operator."""

    def __init__(self, request: Request, token: str) -> None:
        self._transport = httpx.ASGITransport(app=request.app)
        self._headers = {"Authorization": f"Bearer {token}"}

    async def __call__(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        async with httpx.AsyncClient(
            transport=self._transport, base_url="http://dashboard.internal"
        ) as client:
            content = orjson.dumps(body) if body is not None else None
            headers = dict(self._headers)
            if content is not None:
                headers["Content-Type"] = "application/json"
            response = await client.request(method, path, content=content, headers=headers)
        try:
            data = response.json()
        except ValueError:
            data = None
        return response.status_code, data


def _error(data: Any) -> str:
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        return str(data["error"].get("message", "refused"))
    return "The request was refused."


def _kind(request: Request) -> str:
    kind = str(request.path_params["kind"])
    if kind not in KINDS:
        raise PageNotFound(f"There is no page {kind!r}.")
    return kind


def _first(form: Form, name: str) -> str:
    values = form.get(name)
    return values[0] if values else ""


async def _page(
    api: AdminApiCall, request: Request, path: str, param: str
) -> tuple[list[Any], Pager, str | None]:
    """One page of an API listing, its pager, and the API's error message if it refused."""
    cursor = request.query_params.get(param)
    query = f"?{urlencode({'cursor': cursor})}" if cursor else ""
    status, data = await api("GET", path + query)
    if status != 200 or not isinstance(data, dict) or not isinstance(data.get("items"), list):
        return [], pager(request, None, param), _error(data)
    return data["items"], pager(request, data.get("next"), param), None


async def _list(
    request: Request, token: str, *, draft: str | None = None, error: str | None = None
) -> Response:
    kind = _kind(request)
    ctx = await app_context(access_of(request), request.path_params["app_id"])
    api = AdminApiCall(request, token)
    items, items_pager, refused = await _page(
        api, request, f"/admin/api/apps/{ctx.app.id}/{kind}", "cursor"
    )
    error = error or refused
    choices: list[tuple[str, str]] = []
    example: Any = KINDS[kind]["example"]
    if kind == "destinations":
        # Kind-agnostic: every kind of the registry offers its own starting configuration.
        choices = [(k.name, k.title) for k in DESTINATION_KINDS.values()]
        wanted = request.query_params.get("kind", "")
        chosen = DESTINATION_KINDS.get(wanted) or next(iter(DESTINATION_KINDS.values()))
        example = chosen.example
    example_text = orjson.dumps(example, option=orjson.OPT_INDENT_2).decode()
    return render(
        request,
        "delivery.html",
        {
            **ctx.as_context(),
            "kind": kind,
            "meta": KINDS[kind],
            "items": items,
            "pager": items_pager,
            "draft": draft if draft is not None else example_text,
            "choices": choices,
            "error": error,
            "notice": NOTICES.get(request.query_params.get("notice", "")),
        },
        token=token,
        status=400 if error and draft is not None else 200,
    )


@signed_in
async def list_page(request: Request, token: str) -> Response:
    return await _list(request, token)


@signed_in
async def create(request: Request, token: str) -> Response:
    kind = _kind(request)
    form = await checked_form(request, token)
    text = _first(form, "body")
    try:
        body = parse_json_object(text.encode("utf-8"))
    except ApiError as exc:
        return await _list(request, token, draft=text, error=exc.message)
    app_id = request.path_params["app_id"]
    status, data = await AdminApiCall(request, token)(
        "POST", f"/admin/api/apps/{app_id}/{kind}", body
    )
    if status >= 300:
        return await _list(request, token, draft=text, error=_error(data))
    return RedirectResponse(f"/apps/{app_id}/{kind}?notice=added", status_code=303)


async def _detail(
    request: Request, token: str, *, draft: str | None = None, error: str | None = None
) -> Response:
    kind = _kind(request)
    ctx = await app_context(access_of(request), request.path_params["app_id"])
    api = AdminApiCall(request, token)
    base = f"/admin/api/apps/{ctx.app.id}/{kind}/{request.path_params['item_id']}"
    status, item = await api("GET", base)
    if status == 404:
        raise PageNotFound(f"There is no {KINDS[kind]['noun']} {request.path_params['item_id']!r}.")
    if status != 200 or not isinstance(item, dict):
        item, error = {}, error or _error(item)
    letters, letters_pager, _ = await _page(api, request, f"{base}/dead-letters", "letters")
    editable = {k: v for k, v in item.items() if k not in _READ_ONLY}
    return render(
        request,
        "delivery_item.html",
        {
            **ctx.as_context(),
            "kind": kind,
            "meta": KINDS[kind],
            "item": item,
            "letters": letters,
            "pager": letters_pager,
            "draft": draft
            if draft is not None
            else orjson.dumps(editable, option=orjson.OPT_INDENT_2).decode(),
            "error": error,
            "notice": NOTICES.get(request.query_params.get("notice", "")),
        },
        token=token,
        status=400 if error and draft is not None else 200,
    )


_READ_ONLY: Final = (
    "id",
    "createdAt",
    "updatedAt",
    "paused",
    "outbox",
    "cursor",
    "appIds",
    "position",
    "behind",
    "partitions",
)
"""Fields an item reads back with that are not its configuration (the page shows ``behind``
on its own line)."""


@signed_in
async def item_page(request: Request, token: str) -> Response:
    return await _detail(request, token)


_ACTIONS: Final = {
    "pause": ("POST", "/pause"),
    "resume": ("POST", "/resume"),
    "delete": ("DELETE", ""),
    "retry": ("POST", "/dead-letters/retry"),
    "discard": ("POST", "/dead-letters/discard"),
}


@signed_in
async def act(request: Request, token: str) -> Response:
    """Pause, resume, delete, edit, or retry / discard dead letters (all or the ticked ones)."""
    kind = _kind(request)
    form = await checked_form(request, token)
    app_id, item_id = request.path_params["app_id"], request.path_params["item_id"]
    action = _first(form, "action")
    base = f"/admin/api/apps/{app_id}/{kind}/{item_id}"
    api = AdminApiCall(request, token)
    if action == "edit" and KINDS[kind]["editable"]:
        text = _first(form, "body")
        try:
            body = parse_json_object(text.encode("utf-8"))
        except ApiError as exc:
            return await _detail(request, token, draft=text, error=exc.message)
        status, data = await api("PATCH", base, body)
        if status >= 300:
            return await _detail(request, token, draft=text, error=_error(data))
        return RedirectResponse(f"/apps/{app_id}/{kind}/{item_id}?notice=saved", status_code=303)
    if action not in _ACTIONS or (action == "retry" and not KINDS[kind]["retry"]):
        return await _detail(request, token, error=f"Unknown action {action!r}.")
    method, suffix = _ACTIONS[action]
    ids = form.get("ids")
    payload = {"ids": ids} if ids and action in ("retry", "discard") else None
    status, data = await api(method, base + suffix, payload)
    if status >= 300:
        return await _detail(request, token, error=_error(data))
    if action == "delete":
        return RedirectResponse(f"/apps/{app_id}/{kind}?notice=deleted", status_code=303)
    target = safe_next(_first(form, "next") or f"/apps/{app_id}/{kind}/{item_id}")
    return RedirectResponse(f"{target}?notice={action}", status_code=303)


def routes() -> list[BaseRoute]:
    one = "/apps/{app_id}/{kind:str}/{item_id}"
    return [
        Route("/apps/{app_id}/{kind:str}", list_page, methods=["GET"]),
        Route("/apps/{app_id}/{kind:str}", create, methods=["POST"]),
        Route(one, item_page, methods=["GET"]),
        Route(one, act, methods=["POST"]),
    ]
