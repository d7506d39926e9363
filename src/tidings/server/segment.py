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

from tidings.core.bounds import MAX_JSON_DEPTH, too_deep
from tidings.core.errors import InvalidEvent, InvalidInput
from tidings.core.events import json_type
from tidings.core.segment import SegmentMessage, parse_message
from tidings.server.auth import basic_user
from tidings.server.body import (
    NUL_ESCAPE,
    decode_content,
    find_nul,
    nul_error,
    off_loop,
    parse_json_object,
    read_raw_body,
    too_deep_error,
    too_large,
)
from tidings.server.catalog_refusals import CODE as CATALOG_FULL
from tidings.server.catalog_refusals import body_indices, catalog_full, refusal_message
from tidings.server.errors import ApiError, bad_request, json_response
from tidings.server.profiles import from_identify
from tidings.server.state import ServerState, server_state, store_of
from tidings.storage import Application, EventIn

SEGMENT_SOURCE = "segment"


UNAUTHENTICATED_MAX_BYTES = 512 * 1024
"""The most a body is inflated to while its sender is unknown (no ``Authorization`` header,
the write key in the body, as Segment's HTTP API allows). Segment's own batch limit is 500 KB,
so no library sends more; a caller that wants the full body limit authenticates with HTTP
Basic, which is checked before anything is inflated or parsed."""

WRITE_KEY_FIELD = b'"writeKey"'
_WITHOUT_AUTHORIZATION = "without an Authorization header (send the write key as HTTP Basic)"


def _decode_and_parse(
    request: Request, raw: bytes, limit: int, *, per_message: bool, key_in_body: bool = False
) -> tuple[dict[str, Any], bool]:
    """Inflate and parse a body; with ``key_in_body`` (the sender is still unknown) a body that
    holds no write key is refused before a byte of it is parsed."""
    data = decode_content(request, raw, limit)
    if key_in_body and WRITE_KEY_FIELD not in data:
        raise ApiError(
            401, "missing_credentials", "Authorization: HTTP Basic with the write key is required"
        )
    checks = not per_message
    return parse_json_object(data, check_nul=checks, check_depth=checks), NUL_ESCAPE in data


async def _authenticated(
    request: Request, state: ServerState, *, per_message: bool = False
) -> tuple[Application, dict[str, Any], bool]:
    """The app of the write key, the parsed body, and whether the body may hold a NUL.

    With ``per_message`` (a batch) NUL characters and nesting are left to the caller, which
    judges each message alone.
    """
    limit = state.settings.max_body_bytes
    if "authorization" in request.headers:
        raw = await read_raw_body(request, limit)
        app = await _app_for(request, basic_user(request))
        body, has_nul = await off_loop(
            request,
            raw,
            lambda: _decode_and_parse(request, raw, limit, per_message=per_message),
        )
        return app, body, has_nul
    bounded = min(limit, UNAUTHENTICATED_MAX_BYTES)
    try:
        raw = await read_raw_body(request, bounded)
        body, has_nul = await off_loop(
            request,
            raw,
            lambda: _decode_and_parse(
                request, raw, bounded, per_message=per_message, key_in_body=True
            ),
        )
    except ApiError as exc:
        if exc.status == 413:
            raise too_large(bounded, _WITHOUT_AUTHORIZATION) from None
        raise
    app = await _app_for(request, basic_user(request, body.get("writeKey")))
    return app, body, has_nul


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


async def _keep_profiles(request: Request, app_id: str, parsed: list[SegmentMessage]) -> None:
    """``identify`` calls update their device's last-known profile (traits are merged)."""
    state = server_state(request)
    now = state.settings.now_ms()
    for message in parsed:
        if message.event.name != "$identify":
            continue
        update = from_identify(app_id, message.message, message.anonymous_id, message.user_id, now)
        if update is not None:
            await state.profiles.add(store_of(request), update, now)


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
                window=state.settings.time_window(),
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
        await _keep_profiles(request, app.id, [parsed])
        return json_response({"success": True})

    endpoint.__name__ = f"segment_{msg_type}"
    return endpoint


async def batch(request: Request) -> Response:
    state = server_state(request)
    app, body, has_nul = await _authenticated(request, state, per_message=True)
    envelope = {k: v for k, v in body.items() if k != "batch"}
    if has_nul and (found := find_nul(envelope)) is not None:
        raise nul_error(found)
    if (found := too_deep(envelope)) is not None:
        raise too_deep_error(found)
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
    window = state.settings.time_range.at(received)
    sent_at = body.get("sentAt")
    events: list[EventIn] = []
    identified: list[SegmentMessage] = []
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
                window=window,
                depth=MAX_JSON_DEPTH - 2,  # inside the body and its batch array
            )
        except InvalidInput as exc:
            rejected.append(
                {"index": i, "code": "invalid_message", "field": exc.field, "message": str(exc)}
            )
            continue
        events.append(_event_in(app.id, parsed))
        identified.append(parsed)
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
    await _keep_profiles(request, app.id, identified)
    response: dict[str, Any] = {"success": True}
    if rejected:
        response["rejected"] = rejected
    return json_response(response)
