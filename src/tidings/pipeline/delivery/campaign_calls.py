"""What a server decision writes: its event-log record, its webhook call, and its failure record.

- **The log record** has a device decision's shape (``{"source": "server", "appId",
  "decision": {id, campaignId, status, treatmentId, source, eventId, timestamp}, "device",
  "userId"}``) plus ``"deliveryType": "CUSTOM"`` and the content's ``"channelType"``, so the
  stream writes ``_campaign.send`` with ``delivery_type: CUSTOM`` and that ``ChannelType``, and
  whoever reads SUCCESS / HOLDOUT decisions from the log reads server ones the same way.
- **The webhook call** (a SUCCESS) is one rendered payload under the decision id (the
  Standard Webhooks ``webhook-id``): ``{"type": "campaign.send", "decisionId", "appId",
  "timestamp", "campaign": {id, name, treatmentId}, "channelType", "event", "user", "body"}``,
  ``body`` being the campaign's rendered body.
- **A delivery that ends dead** appends ``CUSTOM_DELIVERY_FAILURE`` for the same
  ``campaign_activity_id`` (the decision id), under its own log id ``{decision id}-failure``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import orjson

from tidings.core.campaigns import ServerDecision
from tidings.storage import DecisionIn

SERVER_SOURCE: Final = "server"
CUSTOM_DELIVERY_FAILURE: Final = "CUSTOM_DELIVERY_FAILURE"
SEND_TYPE: Final = "campaign.send"


def _payload(
    app_id: str,
    decision: Mapping[str, Any],
    device: Mapping[str, Any],
    user_id: str | None,
    channel_type: str,
) -> bytes:
    return orjson.dumps(
        {
            "source": SERVER_SOURCE,
            "appId": app_id,
            "decision": decision,
            "device": device,
            "userId": user_id,
            "deliveryType": "CUSTOM",
            "channelType": channel_type,
        }
    )


def decision_in(app_id: str, made: ServerDecision, timestamp: int) -> DecisionIn:
    """The log record of one server decision."""
    ctx = made.render_context
    device = dict(ctx["device"])
    user_id = ctx["user"]["userId"]
    if not device.get("deviceId") and user_id:
        device["deviceId"] = user_id  # the stream's endpoint id, as for a Segment message
    channel = made.content.channel_type if made.content is not None else "CUSTOM"
    return DecisionIn(
        id=made.id,
        campaign_id=made.decision.campaign_id,
        status=made.status,
        timestamp=timestamp,
        payload=_payload(app_id, made.to_json(timestamp), device, user_id, channel),
        device_id=device.get("deviceId"),
        user_id=user_id,
    )


def webhook_call(app_id: str, made: ServerDecision, timestamp: int) -> dict[str, Any]:
    """The payload POSTed for a SUCCESS."""
    ctx = made.render_context
    campaign = ctx["campaign"]
    assert made.content is not None
    return {
        "type": SEND_TYPE,
        "decisionId": made.id,
        "appId": app_id,
        "timestamp": timestamp,
        "campaign": {
            "id": campaign["id"],
            "name": campaign["name"],
            "treatmentId": campaign["treatmentId"],
        },
        "channelType": made.content.channel_type,
        "event": ctx["event"],
        "user": {**ctx["user"], "traits": ctx["traits"]},
        "body": made.body,
    }


def failure_in(call: Mapping[str, Any], at_ms: int, reason: str) -> DecisionIn | None:
    """The ``CUSTOM_DELIVERY_FAILURE`` record of a webhook call that ended dead (``None`` when
    ``call`` is not a campaign's)."""
    if call.get("type") != SEND_TYPE:
        return None
    did, app_id = call.get("decisionId"), call.get("appId")
    campaign = call.get("campaign")
    if not isinstance(did, str) or not isinstance(app_id, str) or not isinstance(campaign, dict):
        return None
    user = call.get("user") if isinstance(call.get("user"), dict) else {}
    assert isinstance(user, dict)
    event = call.get("event") if isinstance(call.get("event"), dict) else {}
    assert isinstance(event, dict)
    failure_id, campaign_id = f"{did}-failure", str(campaign.get("id"))
    decision: dict[str, Any] = {
        "id": failure_id,
        "activityId": did,
        "campaignId": campaign_id,
        "status": CUSTOM_DELIVERY_FAILURE,
        "treatmentId": str(campaign.get("treatmentId") or "0"),
        "source": event.get("name"),
        "eventId": event.get("id"),
        "timestamp": at_ms,
        "reason": reason[:500],
    }
    user_id = user.get("userId") if isinstance(user.get("userId"), str) else None
    endpoint = user.get("deviceId") or user_id
    device = {"deviceId": endpoint} if endpoint else {}
    return DecisionIn(
        id=failure_id,
        campaign_id=campaign_id,
        status=CUSTOM_DELIVERY_FAILURE,
        timestamp=at_ms,
        payload=_payload(app_id, decision, device, user_id, str(call.get("channelType"))),
        device_id=device.get("deviceId"),
        user_id=user_id,
    )


def failure_of_rendered(body: bytes, at_ms: int, reason: str) -> tuple[str, DecisionIn] | None:
    """``(app id, failure record)`` of a dead rendered payload, if it is a campaign's call."""
    try:
        call = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(call, dict):
        return None
    failure = failure_in(call, at_ms, reason)
    return None if failure is None else (str(call["appId"]), failure)
