"""The webhook kind's pure parts: Standard Webhooks signatures, settings, items, requests."""

from __future__ import annotations

import pytest
from webhook_receiver import SECRET

from tidings.core.errors import InvalidConfig
from tidings.destinations.kind import SendOptions
from tidings.destinations.kinds import KINDS
from tidings.destinations.webhook import WebhookItem, parse_secret, signature, signed_headers
from tidings.destinations.webhook.kind import decode_item, encode_item
from tidings.destinations.webhook.sender import WebhookSender, batch_id, body_of
from tidings.destinations.webhook.settings import WebhookSettings, check_settings


def test_signature_matches_the_standard_webhooks_vector() -> None:
    # The published example: this key, id, time and body sign to this value.
    key = parse_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    sig = signature(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}')
    assert sig == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_several_keys_give_space_separated_signatures_current_first() -> None:
    keys = [parse_secret(SECRET), b"k" * 24]
    headers = signed_headers(keys, "msg_1", 1700000000, b"{}")
    assert headers["webhook-id"] == "msg_1" and headers["webhook-timestamp"] == "1700000000"
    first, second = headers["webhook-signature"].split(" ")
    assert first == signature(keys[0], "msg_1", 1700000000, b"{}")
    assert second == signature(keys[1], "msg_1", 1700000000, b"{}")


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"secret": SECRET}, "settings.url"),
        ({"url": "ftp://x", "secret": SECRET}, "settings.url"),
        ({"url": "https://x"}, "settings.secret"),
        ({"url": "https://x", "secret": "whsec_%%%"}, "settings.secret"),
        ({"url": "https://x", "secret": "whsec_c2hvcnQ="}, "settings.secret"),
        ({"url": "https://x", "secret": SECRET, "format": "xml"}, "settings.format"),
        ({"url": "https://x", "secret": SECRET, "maxEvents": 0}, "settings.maxEvents"),
        ({"url": "https://x", "secret": SECRET, "maxBytes": 10}, "settings.maxBytes"),
        (
            {"url": "https://x", "secret": SECRET, "headers": {"webhook-id": "x"}},
            "settings.headers",
        ),
        ({"url": "https://x", "secret": SECRET, "previousSecrets": ["x"]}, "previousSecrets[0]"),
        ({"url": "https://x", "secret": SECRET, "colour": "red"}, "settings.colour"),
    ],
)
def test_bad_settings_are_refused_naming_the_field(settings: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidConfig) as info:
        check_settings(settings)
    assert field in str(info.value)


def test_bad_subscriptions_name_the_trigger() -> None:
    kind = KINDS["webhook"]
    body = {"settings": {"url": "https://x", "secret": SECRET}}
    with pytest.raises(InvalidConfig) as info:
        kind.check({**body, "subscriptions": [{"name": "s", "trigger": "event ="}]})
    assert "subscriptions[0].trigger" in str(info.value)


def test_items_round_trip_through_the_outbox_bytes() -> None:
    item = WebhookItem("ev-1", 5, b'{"messageId":"ev-1"}', "device-1")
    again = decode_item("ev-1", encode_item(item), 5, 2)
    assert (again.body, again.order, again.rendered, again.attempts) == (
        item.body,
        "device-1",
        False,
        2,
    )
    rendered = WebhookItem("dec-1", 5, b'{"a":1}', "u", rendered=True)
    assert decode_item("dec-1", encode_item(rendered), 5, 0).rendered


def test_requests_keep_order_and_limits_and_rendered_items_go_alone() -> None:
    settings = WebhookSettings.from_checked(
        check_settings({"url": "https://x", "secret": SECRET, "maxEvents": 2, "maxBytes": 1024})
    )
    sender = WebhookSender(settings, SendOptions())
    items = [WebhookItem(f"e{n}", 0, b"{}", "d") for n in range(3)]
    alone = WebhookItem("r1", 0, b'{"x":1}', "d", rendered=True)
    batches, held = sender.requests([items[0], alone, items[1], items[2]], 0)
    assert held == []
    assert [[i.key for i in b] for b, _ in batches] == [["e0"], ["r1"], ["e1", "e2"]]
    assert body_of([alone]) == ("r1", b'{"x":1}')
    msg_id, body = body_of(items[1:])
    assert msg_id == batch_id(items[1:]) == batch_id(list(items[1:]))
    assert body == b'{"events":[{},{}]}'
    sender.close()
