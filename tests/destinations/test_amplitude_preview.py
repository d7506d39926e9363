"""``preview`` and ``tidings amplitude preview``: presets, errors, the CLI output format."""

from __future__ import annotations

import json

import pytest
from amplitude_messages import message
from typer.testing import CliRunner

import tidings.cli.amplitude  # noqa: F401  (registers the sub-command)
from tidings.cli.app import app
from tidings.core.errors import InvalidConfig
from tidings.destinations.amplitude import PRESETS, Subscription, default_subscriptions, preview


def test_presets_list() -> None:
    assert set(PRESETS) == {
        "Track Calls",
        "Order Completed Calls",
        "Purchase Calls",
        "Page Calls",
        "Screen Calls",
        "Identify Calls",
        "Session Started",
        "Session Finished",
        "Custom Property Changes",
    }


def test_page_preset_names_the_event_viewed() -> None:
    (request,) = preview(message(type="page", name="Home"), preset="Page Calls")
    assert request["json"]["events"][0]["event_type"] == "Viewed Home"
    (request,) = preview(message(type="screen"), preset="Screen Calls")
    assert request["json"]["events"][0]["event_type"] == "Viewed "


def test_session_presets() -> None:
    msg = message(event="SessionStarted")
    msg["context"]["session"] = {"id": "s", "startedAt": 1629213600000}
    (request,) = preview(msg, preset="Session Started")
    event = request["json"]["events"][0]
    assert (event["event_type"], event["session_id"]) == ("session_start", 1629213600000)
    (request,) = preview(message(event="SessionFinished"), preset="Session Finished")
    assert request["json"]["events"][0]["event_type"] == "session_end"


def test_preset_mapping_merges_with_given_mapping() -> None:
    (request,) = preview(
        message(type="page", name="Home"), preset="Page Calls", mapping={"insert_id": "x"}
    )
    event = request["json"]["events"][0]
    assert (event["event_type"], event["insert_id"]) == ("Viewed Home", "x")


def test_default_subscriptions_route_by_trigger() -> None:
    subs = default_subscriptions()
    order = message(event="Order Completed")
    assert [s.name for s in subs if s.matches(order)] == ["Order Completed Calls"]
    assert [s.name for s in subs if s.matches(message())] == ["Track Calls"]
    assert [s.name for s in subs if s.matches(message(type="identify"))] == ["Identify Calls"]
    assert [s.name for s in subs if s.matches(message(event="SessionStarted"))] == [
        "Session Started"
    ]
    assert [s.name for s in subs if s.matches(message(event="SessionFinished"))] == [
        "Session Finished"
    ]


def test_subscription_from_json_and_disabled() -> None:
    sub = Subscription.from_json(
        {"name": "x", "action": "logEvent", "trigger": 'event = "A"', "enabled": False}
    )
    assert not sub.matches(message(event="A"))
    with pytest.raises(InvalidConfig):
        Subscription.from_json({"name": "x"})


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"action": "nope"}, "action"),
        ({"mapping": {"insert_id": "x"}}, "mapping"),
        ({"preset": "nope"}, "preset"),
        ({"preset": "Page Calls", "action": "logEvent"}, "action"),
        ({"action": "logEvent", "settings": {"apiKey": 3}}, "settings.apiKey"),
    ],
)
def test_preview_errors(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidConfig) as err:
        preview(message(), **kwargs)  # type: ignore[arg-type]
    assert err.value.field == field


runner = CliRunner()


def test_cli_prints_requests() -> None:
    result = runner.invoke(
        app,
        [
            "amplitude",
            "preview",
            "--action",
            "logEventV2",
            "--settings",
            '{"apiKey": "k"}',
            "--mapping",
            '{"library2": {}}',
        ],
        input=json.dumps(message()),
    )
    assert result.exit_code == 0, result.output
    (request,) = json.loads(result.stdout)
    assert request["method"] == "POST"
    assert request["json"]["api_key"] == "k"
    assert request["json"]["events"][0]["library"] == "segment"


def test_cli_preset_and_errors() -> None:
    result = runner.invoke(
        app,
        ["amplitude", "preview", "--preset", "Identify Calls"],
        input=json.dumps(message(type="identify")),
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["url"].endswith("/identify")
    bad = runner.invoke(app, ["amplitude", "preview", "--action", "nope"], input="{}")
    assert bad.exit_code == 2
    assert "action" in bad.stderr
    bad_json = runner.invoke(app, ["amplitude", "preview", "--action", "logEvent"], input="{")
    assert bad_json.exit_code == 2
    bad_mapping = runner.invoke(
        app, ["amplitude", "preview", "--action", "logEvent", "--mapping", "{"], input="{}"
    )
    assert bad_mapping.exit_code != 0
