"""The webhook destination kind: events POSTed as JSON, signed per Standard Webhooks.

``{"kind": "webhook", "name", "settings": {"url", "secret": "whsec_...", "previousSecrets"?,
"format"?: "segment" | "pinpoint", "headers"?, "maxEvents"?, "maxBytes"?, "timeoutSeconds"?},
"subscriptions"?: [{"name", "trigger", "enabled"?}]}``

Each log event becomes one item: its canonical Segment-shaped message, or its Pinpoint stream
records (``format``), kept only when a subscription's FQL trigger matches the message (all
events without subscriptions). Items are batched into ``{"events": [...]}`` requests (at most
``maxEvents`` items and ``maxBytes`` bytes). A payload rendered elsewhere (a server-side
campaign's decision) can be handed over with its own id through
:func:`~tidings.pipeline.delivery.enqueue_rendered`: it is sent alone, as it is, under that id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from tidings.core.errors import InvalidConfig, InvalidInput
from tidings.core.mapping import Trigger, parse_trigger
from tidings.destinations.kind import LogEntry, Mapped, Outcome, Refused, SendOptions
from tidings.destinations.logmessage import message_from_payload
from tidings.destinations.webhook.items import WebhookItem, decode_item, encode_item
from tidings.destinations.webhook.sender import WebhookSender
from tidings.destinations.webhook.settings import WebhookSettings, check_settings
from tidings.streams.fromlog import records_from_row

MAX_SUBSCRIPTIONS = 50


@dataclass(frozen=True, slots=True)
class Subscription:
    """A named FQL trigger: which messages go to the webhook."""

    name: str
    trigger: Trigger
    enabled: bool = True


def parse_subscriptions(value: object) -> list[Subscription] | None:
    """``subscriptions`` of a webhook configuration (``None``: every event)."""
    if value is None:
        return None
    if not isinstance(value, list) or len(value) > MAX_SUBSCRIPTIONS:
        raise InvalidConfig(
            "subscriptions", f"must be an array of at most {MAX_SUBSCRIPTIONS} objects"
        )
    out = []
    for i, sub in enumerate(value):
        where = f"subscriptions[{i}]"
        if not isinstance(sub, Mapping):
            raise InvalidConfig(where, "must be an object")
        unknown = sorted(set(sub) - {"name", "trigger", "enabled"})
        if unknown:
            raise InvalidConfig(f"{where}.{unknown[0]}", "unknown field")
        name, enabled = sub.get("name", f"subscription {i + 1}"), sub.get("enabled", True)
        if not isinstance(name, str) or not isinstance(enabled, bool):
            raise InvalidConfig(where, "name must be a string and enabled a boolean")
        try:
            trigger = parse_trigger(sub.get("trigger"))  # type: ignore[arg-type]
        except InvalidInput as exc:
            raise InvalidConfig(f"{where}.trigger", exc.reason) from None
        out.append(Subscription(name, trigger, enabled))
    return out


class WebhookDestination:
    """A configured webhook: records become signed, batched JSON messages."""

    def __init__(self, settings: WebhookSettings, subscriptions: list[Subscription] | None):
        self.settings = settings
        self.subscriptions = subscriptions
        self.accounts: Mapping[str, str] = {}

    def load_accounts(self, accounts: Mapping[str, str]) -> None:
        """Each app's ``awsAccountId``, for the campaign records of the Pinpoint format (the
        pipeline's :class:`~tidings.destinations.kind.UsesAccounts` seam)."""
        self.accounts = accounts

    def _wanted(self, message: Mapping[str, Any]) -> bool:
        if self.subscriptions is None:
            return True
        return any(s.enabled and s.trigger(message) for s in self.subscriptions)

    def map(self, records: Sequence[LogEntry], at_ms: int) -> tuple[list[Mapped], list[Refused]]:
        items: list[Mapped] = []
        refused: list[Refused] = []
        pinpoint = self.settings.format == "pinpoint"
        for record in records:
            if record.kind != "event":
                continue
            try:
                payload = orjson.loads(record.payload)
            except orjson.JSONDecodeError as exc:
                refused.append(Refused(f"seq:{record.seq}", f"unreadable log row: {exc}"))
                continue
            message = message_from_payload(
                record.kind, payload, device_id=record.device_id, user_id=record.user_id
            )
            if message is None or not self._wanted(message):
                continue
            order = record.device_id or record.user_id or ""
            if pinpoint:
                account = self.accounts.get(record.app_id)
                try:
                    rows = records_from_row(record, account)
                except InvalidInput as exc:
                    refused.append(Refused(record.item_id, str(exc)))
                    continue
                bodies = [orjson.dumps(r) for r in rows]
            else:
                bodies = [orjson.dumps(message)]
            for n, body in enumerate(bodies):
                key = record.item_id if n == 0 else f"{record.item_id}:{n}"
                items.append((WebhookItem(key, at_ms, body, order), order, record.seq))
        return items, refused

    def encode(self, item: WebhookItem) -> bytes:
        return encode_item(item)

    def order_key(self, item: WebhookItem) -> str:
        return item.order

    def sender(self, options: SendOptions) -> Any:
        return WebhookSender(self.settings, options)

    def dead_request(self, outcome: Outcome, item: WebhookItem) -> Any:
        return outcome.request


class WebhookKind:
    """The ``webhook`` kind (see the module)."""

    name = "webhook"
    title = "Webhook (Standard Webhooks)"
    fields = ("settings", "subscriptions")
    log_kinds: tuple[str, ...] = ("event",)
    example: Mapping[str, Any] = {
        "kind": "webhook",
        "name": "My receiver",
        "settings": {
            "url": "https://example.org/tidings",
            "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "format": "segment",
        },
    }

    def check(self, body: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"settings": check_settings(body.get("settings", {}))}
        subscriptions = body.get("subscriptions")
        parse_subscriptions(subscriptions)
        if subscriptions is not None:
            out["subscriptions"] = subscriptions
        return out

    def public(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Secrets are write-only: shown masked, as are header values (credentials)."""
        out = dict(body)
        settings = dict(out.get("settings") or {})
        if "secret" in settings:
            settings["secret"] = "whsec_***"
        if settings.get("previousSecrets"):
            settings["previousSecrets"] = ["whsec_***" for _ in settings["previousSecrets"]]
        if isinstance(settings.get("headers"), dict):
            settings["headers"] = {name: "***" for name in settings["headers"]}
        out["settings"] = settings
        return out

    def build(self, body: Mapping[str, Any]) -> WebhookDestination:
        settings = WebhookSettings.from_checked(check_settings(body.get("settings", {})))
        return WebhookDestination(settings, parse_subscriptions(body.get("subscriptions")))

    def decode(self, key: str, data: bytes, enqueued_ms: int, attempts: int) -> WebhookItem:
        return decode_item(key, data, enqueued_ms, attempts)

    def order_key_of(self, data: bytes) -> str:
        return str(orjson.loads(data).get("order") or "")

    def rendered(self, item_id: str, body: bytes, order_key: str) -> bytes:
        """The outbox bytes of a payload rendered elsewhere (sent alone, under its own id)."""
        return encode_item(WebhookItem(item_id, 0, body, order_key, rendered=True))
