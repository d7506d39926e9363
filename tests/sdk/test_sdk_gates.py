"""Gates: presenters, outcomes, deadlines and ``CampaignResolved`` (no server needed)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sdk_helpers import MakeClient, SystemEvents, deep_link, manifest

from tidings.core.events import EventRecord
from tidings.sdk import GateDecision, Resolution, Tidings

PAYWALL = manifest(deep_link("Paywall", "Export", "myapp://gate/paywall?offer=annual&x="))


def resolved(client: Tidings) -> list[EventRecord]:
    return [e for e in client.get_recent_events(200) if e.name == "CampaignResolved"]


def gated_client(make_client: MakeClient, presenter: Any, **gate: Any) -> Tidings:
    client = make_client(default_config=PAYWALL)
    client.register_gate("myapp://gate/", presenter, **gate)
    return client


@pytest.mark.parametrize(
    ("outcome", "on_abort", "expected", "result"),
    [
        ("completed", "cancel", GateDecision("proceed", "completed"), "Completed"),
        ("dismissed", "cancel", GateDecision("cancelled", None), "Dismissed"),
        ("dismissed", "proceed", GateDecision("proceed", "fail_open"), "Dismissed"),
        ("unavailable", "cancel", GateDecision("proceed", "fail_open"), "Unavailable"),
    ],
)
def test_presenter_outcome_decides(
    make_client: MakeClient, outcome: str, on_abort: str, expected: GateDecision, result: str
) -> None:
    calls: list[tuple[dict[str, str], dict[str, Any], str]] = []

    def presenter(params: dict[str, str], info: dict[str, Any], resolution: Resolution) -> None:
        calls.append((params, info, threading.current_thread().name))
        getattr(resolution, outcome)()
        resolution.completed()  # a second report is ignored

    client = gated_client(make_client, presenter, on_abort=on_abort)
    decision = client.track_gated("Export", {"format": "pdf"})
    assert decision == expected
    params, info, thread = calls[0]
    assert params == {"offer": "annual", "x": ""}
    assert info["campaignId"] == "c1"
    assert info["triggeringEvent"] == "Export"
    assert info["triggeringProperties"] == {"format": "pdf"}
    assert info["url"] == "myapp://gate/paywall?offer=annual&x="
    assert thread == "tidings-worker"
    events = resolved(client)
    assert [e.properties["result"] for e in events] == [result]
    if result == "Unavailable":
        assert events[0].properties["unavailableReason"] == "PresenterReported"


def test_presenter_that_never_answers_times_out_and_fails_open(make_client: MakeClient) -> None:
    dismissed = threading.Event()

    class Slow:
        def __call__(self, params: Any, info: Any, resolution: Resolution) -> None:
            self.resolution = resolution  # keeps it, never reports

        def dismiss(self) -> None:
            dismissed.set()

    slow = Slow()
    client = gated_client(make_client, slow, timeout=0.2)
    assert client.track_gated("Export") == GateDecision("proceed", "fail_open")
    assert dismissed.wait(5)
    assert slow.resolution.completed() is False  # too late: ignored
    [event] = resolved(client)
    assert event.properties == {
        "campaignId": "c1",
        "result": "Unavailable",
        "unavailableReason": "TimedOut",
    }


def test_track_gated_timeout_argument_overrides_the_gate(make_client: MakeClient) -> None:
    client = gated_client(make_client, lambda p, i, r: None, timeout=60.0)
    assert client.track_gated("Export", timeout=0.1) == GateDecision("proceed", "fail_open")
    assert resolved(client)[0].properties["unavailableReason"] == "TimedOut"


def test_presenter_raising_is_presenter_failed(make_client: MakeClient) -> None:
    def broken(params: Any, info: Any, resolution: Resolution) -> None:
        raise RuntimeError("no view controller")

    client = gated_client(make_client, broken)
    assert client.track_gated("Export") == GateDecision("proceed", "fail_open")
    assert resolved(client)[0].properties["unavailableReason"] == "PresenterFailed"


def test_resolution_from_another_thread_later(make_client: MakeClient) -> None:
    def presenter(params: Any, info: Any, resolution: Resolution) -> None:
        threading.Timer(0.05, resolution.completed).start()

    client = gated_client(make_client, presenter)
    assert client.track_gated("Export") == GateDecision("proceed", "completed")


def test_no_matching_campaign_or_no_gate_fails_open_at_once(make_client: MakeClient) -> None:
    links: list[str] = []
    client = make_client(default_config=PAYWALL)
    client.register_deep_link_listener(lambda url, info: links.append(url) or True)
    assert client.track_gated("Other") == GateDecision("proceed", "fail_open")
    # A gate URL with no gate registered is an ordinary deep link.
    assert client.track_gated("Export") == GateDecision("proceed", "fail_open")
    assert resolved(client) == []
    client.close()
    assert links == ["myapp://gate/paywall?offer=annual&x="]


def test_plain_track_presents_and_records_the_result(make_client: MakeClient) -> None:
    client = gated_client(make_client, lambda p, i, r: r.dismissed())
    events = SystemEvents(client)
    client.track("Export")
    events.wait_for("CampaignShown")
    for _ in range(100):
        if resolved(client):
            break
        threading.Event().wait(0.02)
    assert [e.properties["result"] for e in resolved(client)] == ["Dismissed"]
    # CampaignResolved is stats only: never delivered to the listener.
    assert events.named("CampaignResolved") == []


def test_bad_gate_arguments_are_invalid_config(make_client: MakeClient) -> None:
    from tidings import InvalidConfig

    client = make_client()
    with pytest.raises(InvalidConfig, match="on_abort"):
        client.register_gate("myapp://gate/", lambda p, i, r: None, on_abort="maybe")  # type: ignore[arg-type]
    with pytest.raises(InvalidConfig, match="timeout"):
        client.register_gate("myapp://gate/", lambda p, i, r: None, timeout=0)


def test_unregistered_gate_is_a_deep_link_again(make_client: MakeClient) -> None:
    links: list[str] = []
    client = gated_client(make_client, lambda p, i, r: r.completed())
    client.register_deep_link_listener(lambda url, info: links.append(url) or True)
    assert client.track_gated("Export") == GateDecision("proceed", "completed")
    token = client.register_gate("myapp://gate/", lambda p, i, r: r.completed())
    client.unregister_gate(token)
    assert client.track_gated("Export") == GateDecision("proceed", "fail_open")
    client.close()
    assert links == ["myapp://gate/paywall?offer=annual&x="]


def test_track_gated_never_raises(make_client: MakeClient) -> None:
    client = gated_client(make_client, lambda p, i, r: r.completed())
    assert client.track_gated("SessionStarted") == GateDecision("proceed", "fail_open")
    assert client.track_gated("Export", {"bad": [1]}) == GateDecision("proceed", "fail_open")
    assert resolved(client) == []


def test_a_busy_gate_skips_the_next_campaign(make_client: MakeClient) -> None:
    kept: list[Resolution] = []
    client = gated_client(make_client, lambda p, i, r: kept.append(r), timeout=30.0)
    events = SystemEvents(client)
    client.track("Export")  # presented; the presenter holds on to it
    events.wait_for("CampaignShown")
    for _ in range(250):
        if kept:
            break
        threading.Event().wait(0.02)
    assert client.track_gated("Export") == GateDecision("proceed", "fail_open")
    assert [e.properties["result"] for e in resolved(client)] == ["SkippedNoContinuation"]
    assert kept[0].completed()
    assert [e.properties["result"] for e in resolved(client)] == [
        "Completed",
        "SkippedNoContinuation",
    ]


def test_removed_listeners_are_not_called(make_client: MakeClient) -> None:
    links: list[str] = []
    heard: list[str] = []
    client = make_client(default_config=PAYWALL)
    token = client.register_deep_link_listener(lambda url, info: links.append(url) or True)
    client.remove_deep_link_listener(token)
    listener = client.set_system_events_listener(lambda e: heard.append(e.name))
    client.clear_system_events_listener(listener)
    client.track("Export")
    client.close()
    assert links == []
    assert "EventTriggered" not in heard
