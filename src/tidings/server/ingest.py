"""The device protocol: ``POST /api/v1/session`` and ``GET /api/v1/time``.

Order of work on the signed endpoint, cheapest refusal first: header checks (403, 409), body
read under the size limit (413, before any parsing), key lookup and signature (403), parsing and
per-item validation, and one store transaction that writes the events, decisions and the
response for the request id, or finds the request id already processed and returns the first
attempt's stored response instead. Every answer carries the app's current config revision
(``X-Config-Revision``), so devices notice a changed campaign without polling for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from tidings.core.logpayload import decision_payload, event_prefix
from tidings.server import profiles
from tidings.server.auth import path_with_query, signed_headers, verified_digest
from tidings.server.body import (
    NUL_ESCAPE,
    decode_content,
    off_loop,
    parse_json_object,
    read_raw_body,
)
from tidings.server.catalog_refusals import catalog_full
from tidings.server.config import CONFIG_REVISION_HEADER
from tidings.server.errors import ApiError, json_response
from tidings.server.state import server_state, store_of
from tidings.server.upload import Upload, parse_upload
from tidings.storage import DecisionIn, EventIn, IngestOutcome, SigningKey, Store, StoredResponse

_NO_SESSION = object()


async def server_time(request: Request) -> Response:
    """``{"serverTime": ms}``: the clock devices synchronise event timestamps with."""
    return json_response({"serverTime": server_state(request).settings.now_ms()})


class _Payloads:
    """Event-log payloads of one upload, laid out as :mod:`tidings.core.logpayload` says.

    Every event of an upload shares the device, user and (per session) session blocks, so those
    are serialised once per upload and each payload is that prefix plus the event's own JSON.
    """

    __slots__ = ("_prefixes", "_request_id", "_upload")

    def __init__(self, upload: Upload, request_id: str | None) -> None:
        self._upload = upload
        self._request_id = request_id
        self._prefixes: dict[str | None, bytes] = {}

    def prefix(self, session_id: str | None) -> bytes:
        prefix = self._prefixes.get(session_id)
        if prefix is None:
            upload = self._upload
            session = upload.sessions.get(session_id) if session_id is not None else None
            prefix = event_prefix(
                upload.app_id, upload.device, upload.user_id, session, upload.custom_properties
            )
            self._prefixes[session_id] = prefix
        return prefix

    def decision(self, decision: dict[str, Any]) -> bytes:
        """A decision's payload; ``requestId`` (the upload's ``X-Request-Id``) is the stream's
        endpoint ``RequestId``."""
        upload = self._upload
        return decision_payload(
            upload.app_id, decision, upload.device, upload.user_id, self._request_id
        )


def build_items(
    upload: Upload, request_id: str | None = None
) -> tuple[list[EventIn], list[DecisionIn]]:
    """The store's input for an upload: one :class:`EventIn` per valid event, payload included.

    This loop runs once per event, so it is kept to one ``orjson.dumps`` and one object per
    event: the shared prefix is looked up only when the session changes (uploads are mostly
    one session), and the arguments are positional.
    """
    device_id = upload.device["deviceId"]
    user_id = upload.user_id
    payloads = _Payloads(upload, request_id)
    dumps = orjson.dumps
    events: list[EventIn] = []
    append = events.append
    session_id: object = _NO_SESSION
    prefix = b""
    for e in upload.events:
        if e["sessionId"] != session_id:
            session_id = e["sessionId"]
            prefix = payloads.prefix(e["sessionId"])
        kind = e["type"]
        append(
            EventIn(
                e["id"],
                e["name"],
                kind,
                e["timestamp"],
                dumps(e) + b"}",  # logpayload.event_payload, inlined: once per event
                device_id,
                user_id,
                e["properties"] if kind == "system" else None,
                prefix,
            )
        )
    decisions = [
        DecisionIn(
            id=d["id"],
            campaign_id=d["campaignId"],
            status=d["status"],
            timestamp=d["timestamp"],
            payload=payloads.decision(d),
            device_id=device_id,
            user_id=upload.user_id,
        )
        for d in upload.decisions
    ]
    return events, decisions


def _refused(upload: Upload, refused: Sequence[int], limit: int) -> list[dict[str, Any]]:
    """Rejections of the events the store refused for a full catalog, by body index."""
    indices = upload.accepted_event_indices()
    return [
        catalog_full(indices[p], f"events[{indices[p]}].name", upload.events[p]["name"], limit)
        for p in refused
    ]


def _stored(response: StoredResponse, *, replayed: bool, revision: int) -> Response:
    headers = {CONFIG_REVISION_HEADER: str(revision)}
    if replayed:
        headers["X-Idempotent-Replay"] = "true"
    return Response(
        response.body,
        status_code=response.status,
        headers=headers,
        media_type="application/json",
    )


def _reused(request_id: str) -> ApiError:
    return ApiError(
        409,
        "request_id_reused",
        f"X-Request-Id: {request_id} was already used for a different body;"
        " a new request needs a new id",
    )


async def _replay(
    store: Store, app_id: str, request_id: str, request_hash: bytes
) -> Response | None:
    """The stored answer to an earlier attempt of this request (409 when that attempt had
    another body), or ``None`` when the request id is new."""
    previous = await store.stored_response(app_id, request_id)
    if previous is None:
        return None
    if not previous.answers(request_hash):
        raise _reused(request_id)
    return _stored(previous, replayed=True, revision=await store.config_revision(app_id))


async def session_upload(request: Request) -> Response:
    """``POST /api/v1/session`` (docs/spec/http-api.md, "Device → server")."""
    state = server_state(request)
    settings = state.settings
    now = settings.clock()
    headers = signed_headers(request, now)
    raw = await read_raw_body(request, settings.max_body_bytes)
    store = store_of(request)
    key = await store.signing_key(headers.api_key)
    if key is None:
        raise ApiError(403, "invalid_api_key", "X-Api-Key: unknown or revoked key")
    request_hash = verified_digest(
        key.secret,
        request.method,
        path_with_query(request),
        raw,
        headers.timestamp,
        headers.signature,
        headers.request_id_sent,
    )
    if request_hash is None:
        raise ApiError(403, "invalid_signature", "X-Signature: does not match the request")
    window = settings.time_window()

    def parse() -> Upload:
        data = decode_content(request, raw, settings.max_body_bytes)
        body = parse_json_object(data, check_nul=False, check_depth=False)
        return parse_upload(
            body,
            key.app_id,
            settings.max_events,
            window=window,
            max_decisions=settings.max_decisions,
            max_sessions=settings.max_sessions,
            has_nul=NUL_ESCAPE in data,
        )

    try:
        upload = await off_loop(request, raw, parse)
    except ApiError:
        # A retry must get the first answer even if its body no longer parses; checking only
        # here keeps the common path at one store round trip (ingest detects replays itself).
        replay = await _replay(store, key.app_id, headers.request_id, request_hash)
        if replay is not None:
            return replay
        raise
    return await store_upload(request, key, headers.request_id, upload, request_hash)


async def store_upload(
    request: Request,
    key: SigningKey,
    request_id: str,
    upload: Upload,
    request_hash: bytes | None,
) -> Response:
    """Store a validated upload under its request id and answer it (signed and public clients).

    Items about campaigns of another project are refused first; ``request_hash`` binds the
    request id to its body (a reused id with another body is a 409)."""
    state = server_state(request)
    settings = state.settings
    store = store_of(request)
    campaign_ids = upload.campaign_ids()
    if campaign_ids:
        upload.reject_foreign_campaigns(
            await store.project_campaign_ids(key.project_id, campaign_ids)
        )
    events, decisions = build_items(upload, request_id)
    now_ms = settings.now_ms()
    rejected = [r.to_json() for r in upload.rejected]
    rejected_decisions = [r.to_json() for r in upload.rejected_decisions]
    limits = settings.catalog_limits
    # Present only when something was refused, so the common answer stays as it was.
    extra: dict[str, Any] = {
        part: {"rejected": [r.to_json() for r in refusals]}
        for part, refusals in (
            ("sessions", upload.rejected_sessions),
            ("device", upload.rejected_device),
        )
        if refusals
    }

    def render(outcome: IngestOutcome) -> StoredResponse:
        refused = _refused(upload, outcome.refused, limits.event_names) if outcome.refused else []
        return StoredResponse(
            200,
            orjson.dumps(
                {
                    "accepted": outcome.accepted,
                    "duplicates": outcome.duplicates,
                    "rejected": sorted(rejected + refused, key=lambda r: r["index"])
                    if refused
                    else rejected,
                    "decisions": {
                        "accepted": outcome.decisions_accepted,
                        "duplicates": len(outcome.decisions) - outcome.decisions_accepted,
                        "rejected": rejected_decisions,
                    },
                    **extra,
                    "serverTime": now_ms,
                }
            ),
        )

    result = await store.ingest(
        key.app_id,
        events,
        decisions,
        arrival_ms=now_ms,
        request_id=request_id,
        render=render,
        custom_properties=upload.custom_properties,
        catalog_limits=limits,
        request_hash=request_hash,
    )
    if (
        result.replayed
        and result.response is not None
        and not result.response.answers(request_hash)
    ):
        raise _reused(request_id)
    metrics = state.metrics
    if result.replayed or result.outcome is None:
        metrics.count("sdk", "request", "replayed")
    else:
        outcome = result.outcome
        metrics.count("sdk", "event", "accepted", outcome.accepted)
        metrics.count("sdk", "event", "duplicate", outcome.duplicates)
        metrics.count("sdk", "event", "rejected", len(rejected) + len(outcome.refused))
        metrics.count("sdk", "decision", "accepted", outcome.decisions_accepted)
        metrics.count("sdk", "decision", "rejected", len(rejected_decisions))
        metrics.count("sdk", "event", "dropped_on_device", upload.dropped)
    assert result.response is not None
    if not result.replayed:
        update = profiles.from_upload(
            key.app_id, upload.device, upload.user_id, upload.custom_properties, now_ms
        )
        await state.profiles.add(store, update, now_ms)
    # Read after the write, so a device learns of a campaign started while it was uploading.
    revision = await store.config_revision(key.app_id)
    return _stored(result.response, replayed=result.replayed, revision=revision)
