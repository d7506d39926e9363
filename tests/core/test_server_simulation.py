"""``tidings simulate`` with server campaigns: scripted server-side events, decisions, calls."""

from __future__ import annotations

from typing import Any

import pytest

from tidings.core.errors import InvalidScenario
from tidings.core.scenario import parse_scenario
from tidings.core.simulation import simulate

WELCOME = {
    "id": "welcome",
    "type": "Webhook",
    "state": "Active",
    "triggering": {
        "event": {"name": "Signed Up", "type": "custom"},
        "limit": {"limit": 1, "limitType": "device"},
    },
    "content": {
        "destinationId": "dst_mailer",
        "channelType": "EMAIL",
        "body": {"to": "{{traits.email}}", "text": "Welcome to {{event.properties.plan}}"},
    },
}
IN_APP = {
    "id": "in-app",
    "type": "DeepLink",
    "state": "Active",
    "triggering": {"event": {"name": "Signed Up", "type": "custom"}},
    "content": {"url": "app://x"},
}


def server_event(at: str, message: dict[str, Any]) -> dict[str, Any]:
    return {"at": at, "do": "server_event", "source": "segment", "message": message}


def scenario(*steps: dict[str, Any]) -> dict[str, Any]:
    return {"campaigns": [WELCOME, IN_APP], "steps": list(steps)}


def test_server_events_make_decisions_and_rendered_calls() -> None:
    lines = simulate(
        parse_scenario(
            scenario(
                server_event(
                    "2026-11-28T10:00:00Z",
                    {"type": "identify", "userId": "u-1", "traits": {"email": "a@example.org"}},
                ),
                server_event(
                    "+1s",
                    {
                        "type": "track",
                        "userId": "u-1",
                        "event": "Signed Up",
                        "properties": {"plan": "pro"},
                    },
                ),
                server_event("+1s", {"type": "track", "userId": "u-1", "event": "Signed Up"}),
            )
        )
    )
    kinds = [next(iter(line)) for line in lines]
    assert kinds == ["serverEvent", "serverEvent", "decision", "call", "serverEvent", "decision"]
    decisions = [line["decision"] for line in lines if "decision" in line]
    # Only the server campaign takes part: the in-app one is the device's.
    assert [(d["campaignId"], d["status"]) for d in decisions] == [
        ("welcome", "SUCCESS"),
        ("welcome", "CAMPAIGN_CAP"),
    ]
    (call,) = [line["call"] for line in lines if "call" in line]
    assert call == {
        "webhookId": decisions[0]["id"],
        "destinationId": "dst_mailer",
        "channelType": "EMAIL",
        "body": {"to": "a@example.org", "text": "Welcome to pro"},
    }


def test_a_missing_trait_renders_as_documented_and_the_device_steps_still_run() -> None:
    raw = scenario(
        {"at": "2026-11-28T10:00:00Z", "do": "launch"},
        server_event("+1s", {"type": "track", "anonymousId": "a-1", "event": "Signed Up"}),
    )
    lines = simulate(parse_scenario(raw))
    (call,) = [line["call"] for line in lines if "call" in line]
    assert call["body"] == {"to": None, "text": "Welcome to "}
    served = [line["serverEvent"] for line in lines if "serverEvent" in line]
    assert [s["identity"] for s in served] == ["d:a-1"]
    assert any(line.get("name") == "SessionStarted" for line in lines)


@pytest.mark.parametrize(
    ("step", "path"),
    [
        ({"source": "sdk", "message": {}}, "steps[0].source"),
        ({"source": "segment", "message": 3}, "steps[0].message"),
        (
            {"source": "segment", "message": {"type": "track", "event": "X"}},
            "steps[0].message.userId",
        ),
    ],
)
def test_bad_server_events_name_the_step_field(step: dict[str, Any], path: str) -> None:
    raw = scenario({"at": "2026-11-28T10:00:00Z", "do": "server_event", **step})
    with pytest.raises(InvalidScenario) as caught:
        simulate(parse_scenario(raw))
    assert caught.value.field == path
