"""The webhook destination kind: events POSTed as JSON, batched, signed per Standard Webhooks."""

from tidings.destinations.webhook.items import WebhookItem
from tidings.destinations.webhook.kind import WebhookDestination, WebhookKind
from tidings.destinations.webhook.sender import WebhookSender
from tidings.destinations.webhook.signing import parse_secret, signature, signed_headers

__all__ = [
    "WebhookDestination",
    "WebhookItem",
    "WebhookKind",
    "WebhookSender",
    "parse_secret",
    "signature",
    "signed_headers",
]
