"""Pure builders for Pinpoint-format stream records (docs/spec/stream.md).

A consumer written for Amazon Pinpoint's Kinesis/Firehose event stream must be able to read these
records unchanged, so the envelope keys, the ``attributes`` (string → string) / ``metrics``
(string → number) split and the string-encoded ``client_context.custom.endpoint`` follow Pinpoint
exactly. The one extension is ``event_id``: delivery is at-least-once, and consumers need a stable
key to drop the duplicates a restart can produce.

Everything here is pure and allocation-light: the builders run once per stored event in the
pipeline's hot loop, take time as parameters and never touch a clock, a file or a socket.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final, Literal

import orjson

from tidings.core.errors import InvalidEvent, InvalidInput
from tidings.core.events import (
    CAMPAIGN_RESOLVED,
    CAMPAIGN_SHOWN,
    SESSION_FINISHED,
    SESSION_STARTED,
    EventRecord,
)
from tidings.core.purchases import (
    CURRENCY_KEYS,
    PRICE_KEYS,
    PRODUCT_ID_KEYS,
    QUANTITY_KEYS,
    REVENUE_KEYS,
    TRANSACTION_KEYS,
    first_number,
    first_text,
    is_purchase,
)
from tidings.streams.context import StreamContext, endpoint_json

Record = dict[str, Any]
"""One stream record: a JSON object in Pinpoint's envelope."""

APP_EVENT_VERSION: Final = "3.0"
CAMPAIGN_EVENT_VERSION: Final = "3.1"

SESSION_START: Final = "_session.start"
SESSION_STOP: Final = "_session.stop"
MONETIZATION_PURCHASE: Final = "_monetization.purchase"
CAMPAIGN_SEND: Final = "_campaign.send"
CAMPAIGN_CONVERSION: Final = "_campaign.conversion"
INAPP_DISPLAYED: Final = "_inapp.message_displayed"
INAPP_CLICKED: Final = "_inapp.message_clicked"
INAPP_DISMISSED: Final = "_inapp.message_dismissed"
INAPP_FAILED: Final = "_inapp.message_failed"

MAX_ATTRIBUTE_LENGTH: Final = 200
TRUNCATED_ATTRIBUTE: Final = "_truncated"

DELIVERY_TYPES: Final = ("IN_APP", "CUSTOM")
DeliveryType = Literal["IN_APP", "CUSTOM"]

SEND_STATUSES: Final = frozenset(
    {
        "SUCCESS",
        "FAILURE",
        "DAILY_CAP",
        "EXPIRED",
        "QUIET_TIME",
        "HOLDOUT",
        "DUPLICATE_ADDRESS",
        "CAMPAIGN_CAP",
        "FAILURE_PERMANENT",
        "TRANSIENT_FAILURE",
        "THROTTLED",
        "UNKNOWN",
        "HOOK_FAILURE",
        "CUSTOM_DELIVERY_FAILURE",
        "RECOMMENDATION_FAILURE",
        "UNSUPPORTED_CHANNEL",
        "SESSION_CAP",
        "LOWER_PRIORITY",
    }
)
"""Pinpoint's ``campaign_send_status`` values plus our ``SESSION_CAP`` and ``LOWER_PRIORITY``
(the ones Tidings produces; others are passed through unchanged)."""

_RESOLVED_EVENT_TYPES: Final = {
    "Completed": INAPP_CLICKED,
    "Dismissed": INAPP_DISMISSED,
    "Unavailable": INAPP_FAILED,
    "SkippedNoPresenter": INAPP_FAILED,
    "SkippedNoContinuation": INAPP_FAILED,
}

# The purchase conventions (tidings.core.purchases) first, then the aliases apps send for
# Pinpoint's reserved keys and from Segment's ecommerce spec.
_PRICE_KEYS: Final = (*PRICE_KEYS, "itemPrice", "item_price", "_item_price")
_QUANTITY_KEYS: Final = (*QUANTITY_KEYS, "_quantity")
_TOTAL_KEYS: Final = (*REVENUE_KEYS, "total", "value", "amount")
_PRODUCT_KEYS: Final = (*PRODUCT_ID_KEYS, "_product_id", "orderId", "order_id")
"""Pinpoint requires a product on every purchase: without one, the order id stands in."""
_CURRENCY_KEYS: Final = (*CURRENCY_KEYS, "_currency")
DEFAULT_CURRENCY: Final = "USD"
UNKNOWN_PRODUCT: Final = "unknown"


def _session(event: EventRecord, ctx: StreamContext) -> dict[str, Any]:
    sid = event.session_id
    if sid is None:
        return {}
    span = ctx.sessions.get(sid)
    start = span.start_timestamp if span is not None else None
    if event.name == SESSION_STARTED and event.type == "system":
        start = event.timestamp
    # The earliest moment we can vouch for when the upload did not describe the session.
    out: dict[str, Any] = {
        "session_id": sid,
        "start_timestamp": start if start is not None else event.timestamp,
    }
    if event.name == SESSION_FINISHED and event.type == "system":
        out["stop_timestamp"] = event.timestamp
    return out


# --- properties → attributes / metrics ---------------------------------------------------------


def split_properties(properties: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, float]]:
    """Split properties as Pinpoint does: text into ``attributes``, numbers into ``metrics``.

    Booleans become ``"true"``/``"false"`` attributes (a bool is not a metric, even though Python
    says it is an int). Nested values (``EventTriggered.properties``, ``ConfigFetchFinished.
    campaigns``) and non-finite numbers have no Pinpoint type, so they travel as compact JSON
    text. Attribute values are cut to 200 characters and the record is marked ``_truncated``.
    """
    attributes: dict[str, str] = {}
    metrics: dict[str, float] = {}
    truncated = False
    for key, value in properties.items():
        kind = type(value)
        if kind is str:
            text: str = value
        elif kind is bool:
            text = "true" if value else "false"
        elif kind is int or kind is float:
            if kind is int or math.isfinite(value):
                metrics[key] = value
                continue
            text = repr(value)
        elif isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, int | float) and math.isfinite(value):
            metrics[key] = float(value) if isinstance(value, float) else int(value)
            continue
        elif isinstance(value, str):
            text = str(value)
        else:
            text = _json_text(value)
        if len(text) > MAX_ATTRIBUTE_LENGTH:
            text = text[:MAX_ATTRIBUTE_LENGTH]
            truncated = True
        attributes[str(key)] = text
    if truncated:
        attributes[TRUNCATED_ATTRIBUTE] = "true"
    return attributes, metrics


def _json_text(value: object) -> str:
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return str(value)


# --- app events --------------------------------------------------------------------------------


def app_event_type(event: EventRecord) -> str:
    """Pinpoint's name for an event: the two session events are renamed, all others keep theirs."""
    if event.type == "system":
        if event.name == SESSION_STARTED:
            return SESSION_START
        if event.name == SESSION_FINISHED:
            return SESSION_STOP
    return event.name


def app_event_records(
    event: EventRecord | Mapping[str, Any], ctx: StreamContext, arrival_ms: int
) -> list[Record]:
    """Every stream record one stored event produces, in order.

    Always the app event itself; a purchase adds ``_monetization.purchase`` and an in-app outcome
    (``CampaignShown`` / ``CampaignResolved``) adds its ``_inapp.*`` record. Derived records get
    ``event_id = "<event id>/<event_type>"`` so each record has its own stable dedup key.
    """
    if not isinstance(event, EventRecord):
        event = event_from_json(event)
    attributes, metrics = split_properties(event.properties)
    session = _session(event, ctx)
    if "stop_timestamp" in session:
        metrics["duration_ms"] = max(0, session["stop_timestamp"] - session["start_timestamp"])
    application = ctx.envelope_part("application")
    client = ctx.envelope_part("client")
    device = ctx.envelope_part("device")
    records = [
        {
            "event_type": app_event_type(event),
            "event_timestamp": event.timestamp,
            "arrival_timestamp": arrival_ms,
            "event_version": APP_EVENT_VERSION,
            "application": application,
            "client": client,
            "device": device,
            "session": session,
            "attributes": attributes,
            "metrics": metrics,
            "event_id": event.id,
        }
    ]
    if event.type == "custom" and is_purchase(event.name):
        p_attributes, p_metrics = purchase_fields(event.properties, attributes, metrics)
        records.append(
            {
                "event_type": MONETIZATION_PURCHASE,
                "event_timestamp": event.timestamp,
                "arrival_timestamp": arrival_ms,
                "event_version": APP_EVENT_VERSION,
                "application": application,
                "client": client,
                "device": device,
                "session": session,
                "attributes": p_attributes,
                "metrics": p_metrics,
                "event_id": f"{event.id}/{MONETIZATION_PURCHASE}",
            }
        )
    elif event.type == "system" and event.name in (CAMPAIGN_SHOWN, CAMPAIGN_RESOLVED):
        inapp = inapp_record(event, ctx, arrival_ms)
        if inapp is not None:
            records.append(inapp)
    return records


def purchase_fields(
    properties: Mapping[str, Any], attributes: Mapping[str, str], metrics: Mapping[str, float]
) -> tuple[dict[str, str], dict[str, float]]:
    """Pinpoint's reserved monetization keys, read from our and Segment's property names.

    ``_item_price`` is the unit price: ``price`` when sent, else the order total divided by the
    quantity. A purchase without a currency is in USD and one without a product is ``"unknown"``
    (Pinpoint requires both keys on every ``_monetization.purchase``).
    """
    quantity = first_number(properties, _QUANTITY_KEYS)
    if quantity is None or quantity <= 0:
        quantity = 1
    price = first_number(properties, _PRICE_KEYS)
    if price is None:
        total = first_number(properties, _TOTAL_KEYS)
        price = 0 if total is None else total / quantity
    out_attributes = dict(attributes)
    out_metrics = dict(metrics)
    out_metrics["_quantity"] = quantity
    out_metrics["_item_price"] = price
    product = first_text(properties, _PRODUCT_KEYS) or UNKNOWN_PRODUCT
    out_attributes["_product_id"] = product[:MAX_ATTRIBUTE_LENGTH]
    currency = first_text(properties, _CURRENCY_KEYS) or DEFAULT_CURRENCY
    out_attributes["_currency"] = currency[:MAX_ATTRIBUTE_LENGTH].upper()
    transaction = first_text(properties, TRANSACTION_KEYS)
    if transaction is not None:
        out_attributes["_transaction_id"] = transaction[:MAX_ATTRIBUTE_LENGTH]
    return out_attributes, out_metrics


# --- campaign events ---------------------------------------------------------------------------


def _campaign_envelope(
    event_type: str,
    timestamp: int,
    arrival_ms: int,
    ctx: StreamContext,
    attributes: dict[str, str],
    *,
    record_id: str,
    request_id: str,
    channel_type: str = "IN_APP",
) -> Record:
    """A campaign-family record: the endpoint names the request that last updated it (else
    the record's own id) and is effective from the record's time; ``awsAccountId`` is the
    project's account, when the context knows it."""
    endpoint = endpoint_json(ctx, request_id, timestamp, channel_type)
    record: Record = {
        "event_type": event_type,
        "event_timestamp": timestamp,
        "arrival_timestamp": arrival_ms,
        "event_version": CAMPAIGN_EVENT_VERSION,
        "application": ctx.envelope_part("campaign_application"),
        "client": ctx.envelope_part("client"),
        "device": {"platform": {}},
        "session": {},
        "attributes": attributes,
        "metrics": {},
        "client_context": {"custom": {"endpoint": endpoint}},
    }
    if ctx.aws_account_id is not None:
        record["awsAccountId"] = ctx.aws_account_id
    record["event_id"] = record_id
    return record


def inapp_record(event: EventRecord, ctx: StreamContext, arrival_ms: int) -> Record | None:
    """The ``_inapp.*`` outcome record of a ``CampaignShown`` or ``CampaignResolved`` event."""
    props = event.properties
    if event.name == CAMPAIGN_SHOWN:
        event_type = INAPP_DISPLAYED
    elif event.name == CAMPAIGN_RESOLVED:
        mapped = _RESOLVED_EVENT_TYPES.get(props.get("result"))  # type: ignore[arg-type]
        if mapped is None:
            return None
        event_type = mapped
    else:
        return None
    attributes: dict[str, str] = {}
    campaign_id = props.get("campaignId")
    if campaign_id is not None:
        attributes["campaign_id"] = str(campaign_id)[:MAX_ATTRIBUTE_LENGTH]
    result = props.get("result")
    if result is not None:
        attributes["result"] = str(result)
    reason = props.get("unavailableReason")
    if reason is not None:
        attributes["unavailable_reason"] = str(reason)
    return _campaign_envelope(
        event_type,
        event.timestamp,
        arrival_ms,
        ctx,
        attributes,
        record_id=f"{event.id}/{event_type}",
        request_id=event.id,
    )


def decision_record(
    decision: Mapping[str, Any],
    ctx: StreamContext,
    arrival_ms: int,
    delivery_type: DeliveryType = "IN_APP",
    *,
    request_id: str | None = None,
    channel_type: str | None = None,
) -> Record:
    """The ``_campaign.send`` record of one campaign decision, as uploaded or made server-side.

    ``decision`` is ``{id, campaignId, status, treatmentId, source, eventId, timestamp}``
    (``activityId``, when present, is the ``campaign_activity_id`` instead of ``id``: a later
    record about the same send, such as ``CUSTOM_DELIVERY_FAILURE``, has its own id);
    ``delivery_type`` is ``IN_APP`` for actions the SDK performs and ``CUSTOM`` for server-side
    webhook actions. The endpoint's ``ChannelType`` is ``channel_type`` (the endpoint's own type,
    for a custom channel), else the delivery type itself, as Pinpoint's single-type channels
    have it; its ``RequestId`` is ``request_id`` (the upload's), else the decision id.
    """
    decision_id = _required_str(decision, "id")
    campaign_id = _required_str(decision, "campaignId")
    # Statuses outside SEND_STATUSES pass through: Pinpoint's list grows, and a consumer that
    # knows a newer status should see it rather than lose the decision.
    status = _required_str(decision, "status")
    timestamp = decision.get("timestamp")
    if type(timestamp) is not int:
        raise InvalidInput("timestamp", "must be epoch milliseconds (an integer)")
    if delivery_type not in DELIVERY_TYPES:
        raise InvalidInput("delivery_type", f"must be one of {', '.join(DELIVERY_TYPES)}")
    treatment = decision.get("treatmentId")
    attributes = {
        "campaign_id": campaign_id,
        "campaign_activity_id": _text_or(decision.get("activityId"), decision_id),
        "treatment_id": "0" if treatment is None else str(treatment),
        "delivery_type": delivery_type,
        "campaign_send_status": status,
    }
    return _campaign_envelope(
        CAMPAIGN_SEND,
        timestamp,
        arrival_ms,
        ctx,
        attributes,
        record_id=decision_id,
        request_id=request_id or decision_id,
        channel_type=channel_type or delivery_type,
    )


def conversion_record(conversion: Mapping[str, Any], ctx: StreamContext, arrival_ms: int) -> Record:
    """The ``_campaign.conversion`` record of a conversion the attribution consumer logged.

    ``conversion`` is ``{id, campaignId, decisionId, treatmentId, control, goal, eventId,
    eventName, timestamp}``: ``campaign_activity_id`` is the converted decision (as in its
    ``_campaign.send``), ``treatment_id`` its treatment (``"0"`` for the control group, as a
    HOLDOUT send says), and ``control_group`` tells the groups apart.
    """
    record_id = _required_str(conversion, "id")
    timestamp = conversion.get("timestamp")
    if type(timestamp) is not int:
        raise InvalidInput("timestamp", "must be epoch milliseconds (an integer)")
    treatment = conversion.get("treatmentId")
    attributes = {
        "campaign_id": _required_str(conversion, "campaignId"),
        "campaign_activity_id": _required_str(conversion, "decisionId"),
        "treatment_id": "0" if treatment is None else str(treatment),
        "control_group": "true" if conversion.get("control") else "false",
        "conversion_event_name": _required_str(conversion, "eventName"),
        "conversion_event_id": _required_str(conversion, "eventId"),
        "conversion_index": str(conversion.get("goal", 0)),
    }
    return _campaign_envelope(
        CAMPAIGN_CONVERSION,
        timestamp,
        arrival_ms,
        ctx,
        attributes,
        record_id=f"{record_id}/conversion",
        request_id=attributes["conversion_event_id"],
    )


def _text_or(value: object, default: str) -> str:
    return value if isinstance(value, str) and value else default


def _required_str(mapping: Mapping[str, Any], key: str) -> str:
    value = mapping.get(key)
    if not isinstance(value, str) or not value:
        raise InvalidInput(key, "must be a non-empty string")
    return value


def event_from_json(data: Mapping[str, Any]) -> EventRecord:
    """An :class:`EventRecord` from its stored/uploaded JSON (``sessionId`` or ``session_id``)."""
    if not isinstance(data, Mapping):
        raise InvalidEvent("", "an event must be a JSON object")
    event_id = data.get("id")
    if not isinstance(event_id, str) or not event_id:
        raise InvalidEvent("id", "must be a non-empty string")
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise InvalidEvent("name", "must be a non-empty string")
    kind = data.get("type", "custom")
    if kind not in ("custom", "system"):
        raise InvalidEvent("type", "must be 'custom' or 'system'")
    timestamp = data.get("timestamp")
    if type(timestamp) is not int:
        raise InvalidEvent("timestamp", "must be epoch milliseconds (an integer)")
    session_id = data.get("sessionId", data.get("session_id"))
    if session_id is not None and not isinstance(session_id, str):
        raise InvalidEvent("sessionId", "must be a string or null")
    properties = data.get("properties") or {}
    if not isinstance(properties, Mapping):
        raise InvalidEvent("properties", "must be a JSON object")
    return EventRecord(event_id, name, kind, timestamp, session_id, properties)


def dumps(record: Mapping[str, Any]) -> bytes:
    """One record as compact JSON bytes (no trailing newline)."""
    return orjson.dumps(record)
