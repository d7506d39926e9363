"""Segment-compatible sources: ``/v1/track|identify|group|alias|page|screen|batch``.

Auth is Segment's: HTTP Basic with the write key as user name and an empty password. Messages
are converted by :mod:`tidings.core.segment` and appended to the same event log as SDK events,
with ``messageId`` as the event id (so a library's retry is a duplicate, not a second event).

A single-message endpoint answers 400 naming the field when its message is invalid. A batch is
judged message by message like a device upload: the valid ones are stored and the response
lists the others under ``rejected`` (``{index, code, field, message}``), still with 200 so that a
Segment library does not retry (and duplicate) the messages that were accepted. A message whose
event name would take the app's events catalog past its limit is refused the same way
(``catalog_full``: 400 on a single-message endpoint, a ``rejected`` entry in a batch).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from tidings.core.errors import InvalidEvent, InvalidInput
from tidings.core.events import json_type
from tidings.core.segment import SegmentMessage, parse_message
from tidings.server.auth import basic_user
from tidings.server.body import (
    NUL_ESCAPE,
    decode_content,
    find_nul,
    nul_error,
    parse_json_object,
    read_raw_body,
)
from tidings.server.catalog_refusals import CODE as CATALOG_FULL
from tidings.server.catalog_refusals import body_indices, catalog_full, refusal_message
from tidings.server.errors import ApiError, bad_request, json_response
from tidings.server.state import ServerState, server_state, store_of
from tidings.storage import Application, EventIn

SEGMENT_SOURCE = "segment"


async def _authenticated(
    request: Request, state: ServerState, *, check_nul: bool = True
) -> tuple[Application, dict[str, Any], bool]:
    """The app of the write key, the parsed body, and whether the body may hold a NUL."""
    limit = state.settings.max_body_bytes
    raw = await read_raw_body(request, limit)
    if "authorization" in request.headers:
        app = await _app_for(request, basic_user(request))
        data = decode_content(request, raw, limit)
        return app, parse_json_object(data, check_nul=check_nul), NUL_ESCAPE in data
    data = decode_content(request, raw, limit)
    body = parse_json_object(data, check_nul=check_nul)
    app = await _app_for(request, basic_user(request, body.get("writeKey")))
    return app, body, NUL_ESCAPE in data


async def _app_for(request: Request, write_key: str) -> Application:
    app = await store_of(request).app_for_write_key(write_key)
    if app is None:
        raise ApiError(401, "invalid_write_key", "Authorization: unknown or revoked write key")
    return app


def _event_in(app_id: str, parsed: SegmentMessage) -> EventIn:
    record = parsed.event
    payload = {
        "source": SEGMENT_SOURCE,
        "appId": app_id,
        "event": record.to_json(),
        "message": parsed.message,
    }
    return EventIn(
        id=record.id,
        name=record.name,
        type=record.type,
        timestamp=record.timestamp,
        payload=orjson.dumps(payload),
        device_id=parsed.anonymous_id,
        user_id=parsed.user_id,
        properties=None,
    )


def _name_field(message: object, where: str) -> str:
    """Where a message's event name comes from: ``event`` for track, ``name`` otherwise."""
    kind = message.get("type") if isinstance(message, dict) else None
    field = "event" if kind in (None, "track") else "name"
    return f"{where}.{field}" if where else field


def _with_defaults(message: object, batch: dict[str, Any]) -> object:
    """Batch-level ``context`` and ``integrations`` apply to messages that lack them."""
    if not isinstance(message, dict):
        return message
    merged = message
    for key in ("context", "integrations"):
        shared = batch.get(key)
        if isinstance(shared, dict) and key not in message:
            merged = {**merged, key: shared}
    return merged


def single(msg_type: str) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        state = server_state(request)
        app, body, _ = await _authenticated(request, state)
        assert state.ids is not None
        try:
            parsed = parse_message(
                body,
                msg_type=msg_type,
                received_ms=state.settings.now_ms(),
                new_id=state.ids.new_id(),
            )
        except InvalidInput as exc:
            state.metrics.count(SEGMENT_SOURCE, "message", "rejected")
            raise bad_request(exc.field, exc.reason, "invalid_message") from None
        limits = state.settings.catalog_limits
        result = await store_of(request).ingest(
            app.id,
            [_event_in(app.id, parsed)],
            arrival_ms=state.settings.now_ms(),
            catalog_limits=limits,
        )
        if result.outcome is not None and result.outcome.refused:
            state.metrics.count(SEGMENT_SOURCE, "message", "rejected")
            field = _name_field({"type": msg_type}, "")
            message = refusal_message(field, parsed.event.name, limits.event_names)
            raise ApiError(400, CATALOG_FULL, message)
        if result.outcome is not None:
            state.metrics.count(SEGMENT_SOURCE, "message", "accepted", result.outcome.accepted)
            state.metrics.count(SEGMENT_SOURCE, "message", "duplicate", result.outcome.duplicates)
        return json_response({"success": True})

    endpoint.__name__ = f"segment_{msg_type}"
    return endpoint


async def batch(request: Request) -> Response:
    state = server_state(request)
    app, body, has_nul = await _authenticated(request, state, check_nul=False)
    if has_nul:
        found = find_nul({k: v for k, v in body.items() if k != "batch"})
        if found is not None:
            raise nul_error(found)
    messages = body.get("batch")
    if not isinstance(messages, list):
        raise bad_request("batch", f"is required (an array), not {json_type(messages)}")
    if len(messages) > state.settings.max_events:
        raise ApiError(
            413,
            "too_many_messages",
            f"batch: {len(messages)} messages; at most {state.settings.max_events} per request",
        )
    received = state.settings.now_ms()
    sent_at = body.get("sentAt")
    events: list[EventIn] = []
    rejected: list[dict[str, Any]] = []
    assert state.ids is not None
    for i, message in enumerate(messages):
        try:
            if has_nul and (found := find_nul(message, f"batch[{i}]")) is not None:
                raise InvalidEvent(found, "must not contain NUL characters")
            parsed = parse_message(
                _with_defaults(message, body),
                msg_type=None,
                received_ms=received,
                new_id=state.ids.new_id(),
                sent_at=sent_at,
                path=f"batch[{i}]",
            )
        except InvalidInput as exc:
            rejected.append(
                {"index": i, "code": "invalid_message", "field": exc.field, "message": str(exc)}
            )
            continue
        events.append(_event_in(app.id, parsed))
    if events:
        limits = state.settings.catalog_limits
        result = await store_of(request).ingest(
            app.id, events, arrival_ms=received, catalog_limits=limits
        )
        if result.outcome is not None:
            state.metrics.count(SEGMENT_SOURCE, "message", "accepted", result.outcome.accepted)
            state.metrics.count(SEGMENT_SOURCE, "message", "duplicate", result.outcome.duplicates)
            if result.outcome.refused:
                indices = body_indices(len(messages), (r["index"] for r in rejected))
                rejected = sorted(
                    rejected
                    + [
                        catalog_full(
                            indices[p],
                            _name_field(messages[indices[p]], f"batch[{indices[p]}]"),
                            events[p].name,
                            limits.event_names,
                        )
                        for p in result.outcome.refused
                    ],
                    key=lambda r: r["index"],
                )
    state.metrics.count(SEGMENT_SOURCE, "message", "rejected", len(rejected))
    response: dict[str, Any] = {"success": True}
    if rejected:
        response["rejected"] = rejected
    return json_response(response)
