"""Stream records from event-log rows, whatever source wrote them.

The server stores each accepted item with a JSON payload (``payload`` of a log row):

* SDK events: ``{"source": "sdk", "appId", "event", "device", "userId", "session"}``
* SDK decisions: ``{"source": "sdk", "appId", "decision", "device", "userId", "requestId"}``
* Segment-compatible events: ``{"source": "segment", "appId", "event", "message"}``, where
  ``message`` is the original Segment message (its ``context`` describes the device)
* conversions the attribution consumer found: ``{"source", "appId", "conversion", "device",
  "userId"[, "message"]}``, the converting event's context and what it converted;
* server-side decisions: as SDK decisions, with a ``source`` other than ``sdk`` (or an explicit
  ``"deliveryType"``): their action is a webhook, so the record says ``delivery_type: CUSTOM``
  (and the endpoint's ``ChannelType`` is the payload's ``channelType``, else ``CUSTOM``).

The caller knows the app's account (``awsAccountId``: its project's setting, else the project
id; :class:`~tidings.streams.accounts.AccountIds` reads it from the store) and passes it in.

This module only reads those dicts; it does not import the storage layer (a sibling layer), and
it stays pure so replays produce byte-identical records.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import orjson

from tidings.core.errors import InvalidInput
from tidings.streams.context import StreamContext
from tidings.streams.records import (
    DeliveryType,
    Record,
    app_event_records,
    conversion_record,
    decision_record,
)


class LogRow(Protocol):
    """The fields of an event-log row the stream needs (``tidings.storage.LogRecord`` fits)."""

    @property
    def seq(self) -> int: ...

    @property
    def app_id(self) -> str: ...

    @property
    def kind(self) -> str: ...

    @property
    def arrival_ms(self) -> int: ...

    @property
    def payload(self) -> bytes: ...

    @property
    def device_id(self) -> str | None: ...

    @property
    def user_id(self) -> str | None: ...


def records_from_row(row: LogRow, aws_account_id: str | None = None) -> list[Record]:
    """The stream records of one log row, in order (an event may yield several).

    Whatever makes a row unusable is an :class:`InvalidInput` naming why (every consumer skips
    those with the reason): a payload that does not decode, a field of the wrong shape, or any
    other error building its records.
    """
    try:
        payload = orjson.loads(row.payload)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput("payload", f"is not JSON: {exc}") from exc
    if not isinstance(payload, Mapping):
        raise InvalidInput("payload", "must be a JSON object")
    try:
        return records_from_payload(
            row.kind,
            payload,
            row.arrival_ms,
            app_id=row.app_id,
            device_id=row.device_id,
            user_id=row.user_id,
            aws_account_id=aws_account_id,
        )
    except InvalidInput:
        raise
    except Exception as exc:
        raise InvalidInput("payload", f"cannot be read: {type(exc).__name__}: {exc}") from exc


def records_from_payload(
    kind: str,
    payload: Mapping[str, Any],
    arrival_ms: int,
    *,
    app_id: str | None = None,
    device_id: str | None = None,
    user_id: str | None = None,
    aws_account_id: str | None = None,
) -> list[Record]:
    """Like :func:`records_from_row`, from an already-parsed payload."""
    app = payload.get("appId") or app_id
    if not isinstance(app, str) or not app:
        raise InvalidInput("payload.appId", "must be a non-empty string")
    source = payload.get("source", "sdk")
    if source == "segment":
        message = payload.get("message") or {}
        ctx = segment_context(app, message, device_id, user_id, aws_account_id)
    else:
        ctx = _sdk_context(app, payload, device_id, user_id, aws_account_id)
    if kind == "decision":
        decision = payload.get("decision")
        if not isinstance(decision, Mapping):
            raise InvalidInput("payload.decision", "must be a JSON object")
        delivery: DeliveryType = "IN_APP" if source == "sdk" else "CUSTOM"
        explicit = payload.get("deliveryType")
        if explicit in ("IN_APP", "CUSTOM"):
            delivery = explicit
        return [
            decision_record(
                decision,
                ctx,
                arrival_ms,
                delivery,
                request_id=_text(payload.get("requestId")),
                channel_type=_text(payload.get("channelType")),
            )
        ]
    if kind == "conversion":
        conversion = payload.get("conversion")
        if not isinstance(conversion, Mapping):
            raise InvalidInput("payload.conversion", "must be a JSON object")
        return [conversion_record(conversion, ctx, arrival_ms)]
    if kind != "event":
        raise InvalidInput("kind", f"must be 'event', 'decision' or 'conversion', not {kind!r}")
    event = payload.get("event")
    if not isinstance(event, Mapping):
        raise InvalidInput("payload.event", "must be a JSON object")
    return app_event_records(event, ctx, arrival_ms)


def _sdk_context(
    app_id: str,
    payload: Mapping[str, Any],
    device_id: str | None,
    user_id: str | None,
    aws_account_id: str | None,
) -> StreamContext:
    device = payload.get("device")
    device_map: dict[str, Any] = dict(device) if isinstance(device, Mapping) else {}
    if not device_map.get("deviceId") and device_id:
        device_map["deviceId"] = device_id
    uid = payload.get("userId", user_id)
    session = payload.get("session")
    sessions = [session] if isinstance(session, Mapping) and "id" in session else None
    return StreamContext.from_upload(
        app_id, device_map, {"userId": uid}, sessions, aws_account_id=aws_account_id
    )


def segment_context(
    app_id: str,
    message: Mapping[str, Any],
    device_id: str | None,
    user_id: str | None,
    aws_account_id: str | None = None,
) -> StreamContext:
    """Pinpoint's device/app facts from a Segment message's ``context`` (Segment's spec names)."""
    context = _map(message.get("context"))
    device = _map(context.get("device"))
    os_info = _map(context.get("os"))
    app = _map(context.get("app"))
    library = _map(context.get("library"))
    location = _map(context.get("location"))
    uid = _text(message.get("userId")) or user_id
    client_id = _text(message.get("anonymousId")) or device_id or _text(device.get("id")) or uid
    if client_id is None:
        raise InvalidInput("message.anonymousId", "a Segment message needs anonymousId or userId")
    return StreamContext(
        app_id=app_id,
        client_id=client_id,
        user_id=uid,
        sdk_name=_text(library.get("name")),
        sdk_version=_text(library.get("version")),
        app_title=_text(app.get("name")),
        app_version=_text(app.get("version")),
        package_name=_text(app.get("namespace")),
        platform=_text(os_info.get("name")) or _text(device.get("type")),
        os_version=_text(os_info.get("version")),
        locale=_text(context.get("locale")),
        country=_text(location.get("country")),
        make=_text(device.get("manufacturer")),
        model=_text(device.get("model")),
        aws_account_id=aws_account_id,
    )


def _map(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: object) -> str | None:
    if isinstance(value, str) and value:
        return value
    if type(value) is int:
        return str(value)
    return None
