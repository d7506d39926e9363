"""Amplitude and Amplitude-Currents as destination kinds of the one delivery pipeline.

What is Amplitude's here: the configuration (``settings`` and ``subscriptions``), the mapping of
log records to Amplitude events (an upload's shared part mapped once, Currents naming), the
outbox bytes of an event or form request, and the sender. Everything else (consumer, direct
sends, outbox, order, dead letters, replay) is the pipeline's, the same for every kind.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson

from tidings.core.errors import InvalidConfig, InvalidInput
from tidings.destinations.amplitude.currents import Currents
from tidings.destinations.amplitude.delivery import Outcome, Pending
from tidings.destinations.amplitude.instance import (
    MAX_SUBSCRIPTIONS,
    Destination,
    currents_from_json,
)
from tidings.destinations.amplitude.items import (
    decode_item,
    encode_item,
    order_key,
    order_key_of_bytes,
)
from tidings.destinations.amplitude.sender import AmplitudeSender
from tidings.destinations.amplitude.settings import with_public_settings
from tidings.destinations.amplitude.shared import SharedMessages
from tidings.destinations.kind import LogEntry, Mapped, Refused, SendOptions

ENDPOINTS = ("north_america", "europe")


def _map_currents(
    currents: Currents, records: Sequence[LogEntry], at_ms: int
) -> tuple[list[Mapped], list[Refused]]:
    """Currents mode exports decisions too (in-app impressions, control-group enrollments); the
    shows among them are noted first, so a click can name the decision it follows."""
    payloads: list[tuple[LogEntry, Any]] = []
    refused: list[Refused] = []
    for record in records:
        try:
            payloads.append((record, orjson.loads(record.payload)))
        except orjson.JSONDecodeError as exc:
            refused.append(Refused(f"seq:{record.seq}", f"unreadable log row: {exc}"))
    currents.remember_shows((r.app_id, p) for r, p in payloads if r.kind == "decision")
    items: list[Mapped] = []
    for record, payload in payloads:
        try:
            events = currents.record_events(record.kind, payload, record.app_id)
        except (InvalidInput, TypeError, ValueError) as exc:
            refused.append(Refused(f"seq:{record.seq}", f"unreadable log row: {exc}"))
            continue
        for n, event in enumerate(events):
            if not event.get("insert_id"):
                event["insert_id"] = record.item_id
            p = Pending(f"{record.item_id}/currents/{n}", at_ms, event=event)
            items.append((p, order_key(p), record.seq))
    return items, refused


def dead_request(request: dict[str, Any] | None, event: dict[str, Any] | None) -> Any:
    """The request kept with a dead letter: the exchange, narrowed to this item's event."""
    if request is None:
        return None
    body = request.get("json")
    if not isinstance(body, dict) or event is None:
        return request
    events = body.get("events") or []
    narrowed = {**body, "events": [event]}
    return {**request, "json": narrowed, "batchEvents": len(events)}


class AmplitudeDestination:
    """A configured Amplitude (or Currents) destination: its records become Amplitude items."""

    def __init__(self, mapper: Destination | Currents) -> None:
        self.mapper = mapper

    @property
    def settings(self) -> Any:
        return self.mapper.settings

    def load_campaigns(self, campaigns: Iterable[tuple[str, Mapping[str, Any]]]) -> None:
        """Currents records name the campaign and its variation: give them the campaigns."""
        if isinstance(self.mapper, Currents):
            self.mapper.book.load(campaigns)

    def map(self, records: Sequence[LogEntry], at_ms: int) -> tuple[list[Mapped], list[Refused]]:
        """The items of the records, with order key and ``seq``; and the refused. With the
        presets only events are exported (a decision's ``CampaignShown`` and
        ``CampaignResolved`` events are); Currents mode exports decisions too."""
        mapper = self.mapper
        if isinstance(mapper, Currents):
            return _map_currents(mapper, records, at_ms)
        items: list[Mapped] = []
        refused: list[Refused] = []
        messages = SharedMessages()
        for record in records:
            if record.kind != "event":
                continue
            try:
                message, shared = messages.message(
                    record.kind, record.payload, record.prefix, record.device_id, record.user_id
                )
            except (orjson.JSONDecodeError, InvalidInput, TypeError, ValueError) as exc:
                refused.append(Refused(f"seq:{record.seq}", f"unreadable log row: {exc}"))
                continue
            if message is None:
                continue
            work = mapper.work(message, at_ms, shared)
            pending = work.items
            if work.rejected:
                item = orjson.dumps({"message": message})
                refused.extend(Refused(o.key, o.reason, item) for o in work.rejected)
            for p in pending:
                if p.event is not None and not p.event.get("insert_id"):
                    p.event["insert_id"] = record.item_id
                items.append((p, order_key(p), record.seq))
        return items, refused

    def encode(self, item: Pending) -> bytes:
        return encode_item(item)

    def order_key(self, item: Pending) -> str:
        return order_key(item)

    def sender(self, options: SendOptions) -> AmplitudeSender:
        extra: dict[str, Any] = {}
        if "throttleWaitMs" in options.extra:
            extra["throttle_wait_ms"] = int(options.extra["throttleWaitMs"])
        return AmplitudeSender(
            self.mapper.settings,
            timeout_s=options.timeout_s,
            max_age_ms=options.max_age_ms,
            max_batch_events=options.max_request_events,
            backoff_base_ms=options.backoff_base_ms,
            backoff_cap_ms=options.backoff_cap_ms,
            clock=options.clock,
            **extra,
        )

    def dead_request(self, outcome: Outcome, item: Pending) -> Any:
        return dead_request(outcome.request, item.event)


def _settings(body: Mapping[str, Any]) -> Mapping[str, Any]:
    settings = body.get("settings", {})
    if not isinstance(settings, Mapping):
        raise InvalidConfig("settings", "must be an object")
    endpoint = settings.get("endpoint", "north_america")
    if endpoint not in ENDPOINTS:
        raise InvalidConfig("settings.endpoint", "must be north_america or europe")
    return settings


class AmplitudeKind:
    """``{"kind": "amplitude", "settings": {apiKey, secretKey, endpoint, baseUrl?},
    "subscriptions"?: [...]}``: Segment's "Amplitude (Actions)" mappings; without
    ``subscriptions`` every preset applies."""

    name = "amplitude"
    title = "Amplitude"
    fields = ("settings", "subscriptions")
    log_kinds: tuple[str, ...] = ("event",)
    example: Mapping[str, Any] = {
        "kind": "amplitude",
        "name": "Amplitude (production)",
        "settings": {"apiKey": "YOUR_AMPLITUDE_API_KEY"},
    }

    def check(self, body: Mapping[str, Any]) -> dict[str, Any]:
        settings = _settings(body)
        subscriptions = body.get("subscriptions")
        if subscriptions is not None and (
            not isinstance(subscriptions, list) or len(subscriptions) > MAX_SUBSCRIPTIONS
        ):
            raise InvalidConfig(
                "subscriptions", f"must be an array of at most {MAX_SUBSCRIPTIONS} objects"
            )
        out: dict[str, Any] = {"settings": dict(settings)}
        if subscriptions is not None:
            out["subscriptions"] = subscriptions
        try:
            self.build(out)
        except InvalidInput as exc:
            raise InvalidConfig(exc.field, exc.reason) from None
        return out

    def public(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """``secretKey`` and a password in ``baseUrl`` are write-only: shown masked."""
        return with_public_settings(body)

    def build(self, body: Mapping[str, Any]) -> AmplitudeDestination:
        return AmplitudeDestination(
            Destination.from_json(
                {"settings": body.get("settings") or {}, "subscriptions": body.get("subscriptions")}
            )
        )

    def decode(self, key: str, data: bytes, enqueued_ms: int, attempts: int) -> Pending:
        return decode_item(key, data, enqueued_ms, attempts)

    def order_key_of(self, data: bytes) -> str:
        return order_key_of_bytes(data)


class CurrentsKind(AmplitudeKind):
    """``{"kind": "amplitude-currents", "settings": {apiKey, endpoint, prefix?}}``: Braze
    Currents' event names (``[Appboy] Session Start``...)."""

    name = "amplitude-currents"
    title = "Amplitude (Currents naming)"
    log_kinds = ("event", "decision")
    example: Mapping[str, Any] = {
        "kind": "amplitude-currents",
        "name": "Amplitude (Currents)",
        "settings": {"apiKey": "YOUR_AMPLITUDE_API_KEY"},
    }

    def build(self, body: Mapping[str, Any]) -> AmplitudeDestination:
        return AmplitudeDestination(currents_from_json({"settings": body.get("settings") or {}}))
