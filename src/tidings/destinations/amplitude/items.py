"""What the outbox stores for Amplitude.

* :func:`encode_item` / :func:`decode_item` put a :class:`Pending` into outbox bytes and back.
  A form request (identify, group identify, user map) is stored whole; an event is stored with
  its API and options so it can be batched again with its peers.
* :func:`to_pending` splits a built request into its items (one per event, or the whole form
  request).
* :func:`order_key`: the device id, else the user id: the unit whose order is kept.

The message these items are built from is every kind's
(:mod:`tidings.destinations.logmessage`). Pure: the outbox itself lives in the storage layer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from tidings.destinations.amplitude.delivery import Pending
from tidings.destinations.request import Request


def to_pending(request: Request, key: str, enqueued_ms: int) -> list[Pending]:
    """Split a built request into deliverable items keyed ``key`` (``key:n`` for extra events)."""
    body = request.json
    if body is None:
        return [Pending(key=key, enqueued_ms=enqueued_ms, request=request)]
    api = "batch" if request.url.endswith("/batch") else "httpapi"
    options = body.get("options")
    items = []
    for n, event in enumerate(body.get("events") or []):
        item_key = key if n == 0 else f"{key}:{n}"
        items.append(Pending(item_key, enqueued_ms, event=event, api=api, options=options))
    return items


def order_key(item: Pending) -> str:
    """The device id, else the user id, else ``""``: whose events must keep their order."""
    if item.request is not None:
        form = item.request.form or {}
        raw = form.get("identification") or form.get("mapping") or ""
        try:
            parsed = orjson.loads(raw) if raw else {}
        except orjson.JSONDecodeError:
            parsed = {}
        first = parsed[0] if isinstance(parsed, list) and parsed else parsed
        if isinstance(first, Mapping):
            return str(first.get("device_id") or first.get("user_id") or "")
        return ""
    user, device = item.ids()
    return str(device or user or "")


def encode_item(item: Pending) -> bytes:
    """The outbox bytes of one item (its key, age and attempts live in outbox columns)."""
    if item.request is not None:
        req: Request = item.request
        return orjson.dumps(
            {
                "request": {
                    "method": req.method,
                    "url": req.url,
                    "json": req.json,
                    "form": req.form,
                    "headers": req.headers,
                }
            }
        )
    body: dict[str, Any] = {"api": item.api, "event": item.event}
    if item.options:
        body["options"] = dict(item.options)
    return orjson.dumps(body)


def decode_item(key: str, data: bytes, enqueued_ms: int, attempts: int) -> Pending:
    """The :class:`Pending` stored by :func:`encode_item`."""
    body = orjson.loads(data)
    req = body.get("request")
    if isinstance(req, Mapping):
        request = Request(
            str(req["method"]),
            str(req["url"]),
            json=req.get("json"),
            form=req.get("form"),
            headers=dict(req.get("headers") or {}),
        )
        return Pending(key, enqueued_ms, request=request, attempts=attempts)
    return Pending(
        key,
        enqueued_ms,
        event=body.get("event"),
        api=str(body.get("api") or "httpapi"),
        options=body.get("options"),
        attempts=attempts,
    )


def order_key_of_bytes(data: bytes) -> str:
    """:func:`order_key` of stored item bytes (retrying a dead letter)."""
    return order_key(decode_item("", data, 0, 0))
