"""The payloads handed to the app when a campaign fires."""

from __future__ import annotations

from tidings.core.actions import action_info, deep_link_url, url_params
from tidings.core.campaigns import SUCCESS, Decision, parse_campaign


def decision(doc: dict, content: dict | None) -> Decision:
    campaign = parse_campaign(doc)
    return Decision(campaign.id, SUCCESS, "1", "Buy", "e-1", campaign, content)


DEEP = {
    "id": "c1",
    "name": "Thanks",
    "type": "DeepLink",
    "state": "Active",
    "triggering": {"event": {"name": "Buy", "type": "custom"}},
    "targeting": [],
    "content": {"url": "app://thanks"},
}


def test_deep_link_url_prefers_the_decision_content() -> None:
    assert deep_link_url(decision(DEEP, {"url": "app://treatment"})) == "app://treatment"
    assert deep_link_url(decision(DEEP, None)) is None
    rate = dict(DEEP, type="RateReview")
    del rate["content"]
    assert deep_link_url(decision(rate, None)) is None


def test_action_info() -> None:
    rate = dict(DEEP, type="RateReview")
    del rate["content"]
    assert action_info(decision(rate, None), {"plan": "annual"}) == {
        "campaignId": "c1",
        "campaignName": "Thanks",
        "triggeringEvent": "Buy",
        "triggeringProperties": {"plan": "annual"},
        "treatmentId": "1",
    }
    deep = action_info(decision(DEEP, DEEP["content"]), {}, "app://thanks")
    assert deep["url"] == "app://thanks"
    assert deep["content"] == {"url": "app://thanks"}


def test_url_params() -> None:
    assert url_params("app://gate/paywall?offer=annual&x=&x=2") == {"offer": "annual", "x": "2"}
    assert url_params("app://gate") == {}
