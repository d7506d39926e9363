"""Validation of the device upload body (``POST /api/v1/session``).

The body as a whole must be well formed (an object with a ``device``, an ``events`` array, ...):
anything wrong there is a 400 naming the field. Inside ``events``, ``decisions`` and
``sessions`` each item is judged alone, so one bad event never costs the good ones next to it:
a bad item becomes a ``rejected`` entry ``{index, code, field, message}`` and the rest are
stored. Times must lie in the server's time range and items may nest only so deep
(:mod:`tidings.core.bounds`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tidings.core.bounds import TimeWindow, depth_message, too_deep
from tidings.core.errors import InvalidEvent, InvalidInput
from tidings.core.events import (
    CAMPAIGN_RESOLVED,
    CAMPAIGN_SHOWN,
    json_type,
    validate_properties,
)
from tidings.server.body import find_nul, nul_error
from tidings.server.catalog_refusals import body_indices
from tidings.server.errors import ApiError, bad_request
from tidings.server.settings import DEFAULT_MAX_DECISIONS, DEFAULT_MAX_SESSIONS
from tidings.server.upload_items import (
    MAX_TEXT_LENGTH,
    is_int,
    validate_decision,
    validate_event,
    validate_session,
)

_ITEM_ARRAYS = frozenset({"events", "decisions", "sessions"})
"""Body arrays judged item by item; the rest of the body is the envelope."""

DEVICE_TEXT_FIELDS = (
    "platform",
    "osVersion",
    "appVersion",
    "appInstallVersion",
    "country",
    "timezone",
    "locale",
    "model",
    "manufacturer",
)


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why one item of ``events``, ``decisions`` or ``sessions`` was not stored, or why a field
    of the envelope was dropped."""

    index: int | None
    """Position in its array; ``None`` for a field of the envelope (``device.installTime``)."""
    field: str
    message: str
    code: str = "invalid_event"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {} if self.index is None else {"index": self.index}
        out.update(code=self.code, field=self.field, message=self.message)
        return out


@dataclass(slots=True)
class Upload:
    """A validated upload: the good items with their original indices, and the rejections."""

    app_id: str
    device: dict[str, Any]
    user_id: str | None
    custom_properties: dict[str, Any] | None
    sessions: dict[str, dict[str, Any]]
    dropped: int
    events: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    rejected_decisions: list[Rejection] = field(default_factory=list)
    rejected_sessions: list[Rejection] = field(default_factory=list)
    rejected_device: list[Rejection] = field(default_factory=list)
    sent: tuple[int, int] = (0, 0)
    """How many events and decisions the request held (accepted and rejected)."""

    def campaign_ids(self) -> set[str]:
        """Campaigns the upload's decisions, ``CampaignShown`` and ``CampaignResolved`` name."""
        ids = {d["campaignId"] for d in self.decisions}
        ids.update(
            e["properties"]["campaignId"]
            for e in self.events
            if e["type"] == "system" and e["name"] in _COUNTED
        )
        return ids

    def accepted_event_indices(self) -> list[int]:
        """The body index of each event in :attr:`events` (they passed validation), in order."""
        return _accepted_at(self.sent[0], self.rejected)

    def reject_foreign_campaigns(self, known: set[str]) -> None:
        """Reject the items whose campaign is not in ``known`` (the campaigns of the uploading
        app's project): campaign stats count only what an app may say about its own
        campaigns, and an unknown id must not create stats rows."""

        def foreign(campaign_id: str, path: str) -> InvalidEvent:
            return InvalidEvent(path, f"no campaign {campaign_id!r} in this app's project")

        events, decisions = self.sent
        kept_events: list[dict[str, Any]] = []
        for item, index in zip(self.events, _accepted_at(events, self.rejected), strict=True):
            counted = item["type"] == "system" and item["name"] in _COUNTED
            if counted and (cid := item["properties"]["campaignId"]) not in known:
                exc = foreign(cid, "properties.campaignId")
                self.rejected.append(_rejection(index, "events", exc, "invalid_event"))
            else:
                kept_events.append(item)
        kept_decisions: list[dict[str, Any]] = []
        accepted_at = _accepted_at(decisions, self.rejected_decisions)
        for item, index in zip(self.decisions, accepted_at, strict=True):
            if item["campaignId"] not in known:
                exc = foreign(item["campaignId"], "campaignId")
                self.rejected_decisions.append(
                    _rejection(index, "decisions", exc, "invalid_decision")
                )
            else:
                kept_decisions.append(item)
        self.events, self.decisions = kept_events, kept_decisions
        self.rejected.sort(key=_by_index)
        self.rejected_decisions.sort(key=_by_index)


_COUNTED = frozenset({CAMPAIGN_SHOWN, CAMPAIGN_RESOLVED})
"""System events that feed campaign stats (and so name a campaign)."""


def _accepted_at(sent: int, rejected: list[Rejection]) -> list[int]:
    """The request indices of the accepted items, in order: all but the rejected ones."""
    return body_indices(sent, (r.index for r in rejected if r.index is not None))


def _by_index(rejection: Rejection) -> int:
    return rejection.index or 0


def _text(obj: Mapping[str, Any], key: str, path: str, *, required: bool = False) -> str | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise bad_request(f"{path}{key}", "is required (a non-empty string)")
        return None
    if not isinstance(value, str):
        raise bad_request(f"{path}{key}", f"must be a string, not {json_type(value)}")
    if required and not value:
        raise bad_request(f"{path}{key}", "must not be empty")
    if len(value) > MAX_TEXT_LENGTH:
        raise bad_request(f"{path}{key}", f"must be at most {MAX_TEXT_LENGTH} characters")
    return value


def _object(body: Mapping[str, Any], key: str, *, required: bool = False) -> dict[str, Any]:
    value = body.get(key)
    if value is None:
        if required:
            raise bad_request(key, "is required (an object)")
        return {}
    if not isinstance(value, dict):
        raise bad_request(key, f"must be an object, not {json_type(value)}")
    return value


def _array(body: Mapping[str, Any], key: str, *, required: bool = False) -> list[Any]:
    value = body.get(key)
    if value is None:
        if required:
            raise bad_request(key, "is required (an array)")
        return []
    if not isinstance(value, list):
        raise bad_request(key, f"must be an array, not {json_type(value)}")
    return value


def _device(body: Mapping[str, Any], window: TimeWindow) -> tuple[dict[str, Any], list[Rejection]]:
    """The stored device block, and the fields dropped from it (an install time out of range:
    the device's clock was wrong, and that must not cost the upload its events)."""
    device = _object(body, "device", required=True)
    out: dict[str, Any] = {"deviceId": _text(device, "deviceId", "device.", required=True)}
    for key in DEVICE_TEXT_FIELDS:
        value = _text(device, key, "device.")
        if value is not None:
            out[key] = value
    sdk = device.get("sdk")
    if sdk is not None:
        if not isinstance(sdk, dict):
            raise bad_request("device.sdk", f"must be an object, not {json_type(sdk)}")
        out["sdk"] = {
            k: v for k in ("name", "version") if (v := _text(sdk, k, "device.sdk.")) is not None
        }
    dropped: list[Rejection] = []
    install_time = device.get("installTime")
    if install_time is not None:
        if not is_int(install_time):
            raise bad_request("device.installTime", "must be epoch milliseconds (an integer)")
        reason = window.error(install_time)
        if reason is None:
            out["installTime"] = install_time
        else:
            path = "device.installTime"
            message = f"{path}: {reason}; the field was dropped"
            dropped.append(Rejection(None, path, message, "invalid_device"))
    return out, dropped


def _user(body: Mapping[str, Any]) -> tuple[str | None, dict[str, Any] | None]:
    user = _object(body, "user")
    user_id = _text(user, "userId", "user.")
    props = user.get("customProperties")
    if props is None:
        return user_id or None, None
    try:
        return user_id or None, validate_properties(props, "user.customProperties")
    except InvalidInput as exc:
        raise bad_request(exc.field, exc.reason) from None


def _no_nul(item: object) -> None:
    found = find_nul(item)
    if found is not None:
        raise InvalidEvent(found, "must not contain NUL characters")


def _rejection(index: int, collection: str, exc: InvalidInput, code: str) -> Rejection:
    path = f"{collection}[{index}]" + (f".{exc.field}" if exc.field else "")
    return Rejection(index, path, f"{path}: {exc.reason}", code)


def _capped(body: Mapping[str, Any], key: str, limit: int, *, required: bool = False) -> list[Any]:
    """The array ``key`` of the body, refused whole (413) when it holds more than ``limit``."""
    items = _array(body, key, required=required)
    if len(items) > limit:
        raise ApiError(
            413, f"too_many_{key}", f"{key}: {len(items)} {key}; at most {limit} per request"
        )
    return items


def _judge(
    items: list[Any],
    collection: str,
    code: str,
    validate: Callable[[object, TimeWindow], dict[str, Any]],
    window: TimeWindow,
    *,
    has_nul: bool,
) -> tuple[list[dict[str, Any]], list[Rejection]]:
    """Each item alone: the accepted ones, in order, and the rejections."""
    accepted: list[dict[str, Any]] = []
    rejected: list[Rejection] = []
    keep = accepted.append
    for i, item in enumerate(items):
        try:
            if has_nul:
                _no_nul(item)
            keep(validate(item, window))
        except InvalidInput as exc:
            rejected.append(_rejection(i, collection, exc, code))
    return accepted, rejected


def parse_upload(
    body: Mapping[str, Any],
    app_id: str,
    max_events: int,
    *,
    window: TimeWindow,
    max_decisions: int = DEFAULT_MAX_DECISIONS,
    max_sessions: int = DEFAULT_MAX_SESSIONS,
    has_nul: bool = True,
) -> Upload:
    """Check the envelope (400/403/413 as :class:`ApiError`) and judge each item alone.

    ``events``, ``decisions`` and ``sessions`` are judged item by item (times must lie in
    ``window``); an install time outside it is dropped from the device and reported.
    ``has_nul`` says whether the raw body may hold a NUL character (``\\u0000``); only then is
    every string searched for one (a NUL in an item rejects that item alone).
    """
    envelope = {k: v for k, v in body.items() if k not in _ITEM_ARRAYS}
    if has_nul:
        found = find_nul(envelope)
        if found is not None:
            raise nul_error(found)
    found = too_deep(envelope)
    if found is not None:
        raise bad_request(found, depth_message(), "too_deep")
    stated_app = body.get("appId")
    if stated_app is not None:
        if not isinstance(stated_app, str):
            raise bad_request("appId", f"must be a string, not {json_type(stated_app)}")
        if stated_app != app_id:
            raise ApiError(403, "app_mismatch", "appId: does not match the app of X-Api-Key")
    events = _capped(body, "events", max_events, required=True)
    decisions = _capped(body, "decisions", max_decisions)
    sessions = _capped(body, "sessions", max_sessions)
    dropped = body.get("dropped", 0)
    if dropped is None:
        dropped = 0
    if not is_int(dropped) or dropped < 0:
        raise bad_request("dropped", "must be a non-negative integer")
    device, device_rejections = _device(body, window)
    user_id, custom_properties = _user(body)
    stored_sessions, session_rejections = _judge(
        sessions, "sessions", "invalid_session", validate_session, window, has_nul=has_nul
    )
    upload = Upload(
        app_id=app_id,
        device=device,
        user_id=user_id,
        custom_properties=custom_properties,
        sessions={s["id"]: s for s in stored_sessions},
        dropped=dropped,
        rejected_sessions=session_rejections,
        rejected_device=device_rejections,
        sent=(len(events), len(decisions)),
    )
    upload.events, upload.rejected = _judge(
        events, "events", "invalid_event", validate_event, window, has_nul=has_nul
    )
    upload.decisions, upload.rejected_decisions = _judge(
        decisions, "decisions", "invalid_decision", validate_decision, window, has_nul=has_nul
    )
    return upload
