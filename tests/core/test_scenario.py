"""Scenario parsing: a malformed scenario is rejected naming the field."""

from __future__ import annotations

import pytest

from tidings.core.errors import InvalidScenario
from tidings.core.scenario import parse_scenario
from tidings.core.simulation import simulate

T0 = "2026-01-05T10:00:00Z"
T0_MS = 1_767_607_200_000


def scenario(*steps: dict, **extra: object) -> dict:
    return {"steps": [{"at": T0, "do": "launch"}, *steps], **extra}


def test_offsets_accumulate_from_the_previous_step() -> None:
    parsed = parse_scenario(
        scenario(
            {"at": "+5s", "do": "background"},
            {"at": "+250ms", "do": "foreground"},
            {"at": "+2m", "do": "background"},
            {"at": "+1h", "do": "foreground"},
            {"at": "+1d", "do": "terminate"},
        )
    )
    assert [s.at - T0_MS for s in parsed.steps] == [0, 5_000, 5_250, 125_250, 3_725_250, 90_125_250]


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ({}, "steps"),
        ({"steps": []}, "steps"),
        ({"steps": [{"at": T0, "do": "track", "name": "A"}]}, "steps[0].do"),
        (scenario({"at": "+5x", "do": "background"}), "steps[1].at"),
        (scenario({"at": "2026-01-05T09:00:00Z", "do": "background"}), "steps[1].at"),
        (scenario({"at": "2026-01-05T11:00:00", "do": "background"}), "steps[1].at"),
        (scenario({"do": "background"}), "steps[1].at"),
        (scenario({"at": "+1s", "do": "jump"}), "steps[1].do"),
        (scenario({"at": "+1s", "do": "track"}), "steps[1].name"),
        (
            scenario({"at": "+1s", "do": "track", "name": "A", "properties": [1]}),
            "steps[1].properties",
        ),
        (scenario({"at": "+1s", "do": "set_property", "key": "k"}), "steps[1].value"),
        (scenario({"at": "+1s", "do": "remove_property"}), "steps[1].key"),
        (scenario({"at": "+1s", "do": "set_user_id", "userId": 3}), "steps[1].userId"),
        (
            scenario({"at": "+1s", "do": "resolve", "campaignId": "c", "result": "Yes"}),
            "steps[1].result",
        ),
        (
            scenario({"at": "+1s", "do": "resolve", "campaignId": "c", "result": "Unavailable"}),
            "steps[1].unavailableReason",
        ),
        (scenario(campaigns={}), "campaigns"),
        (scenario(campaigns=[1]), "campaigns[0]"),
        (scenario(cohorts=[""]), "cohorts[0]"),
        (scenario(sessionTimeoutSeconds=-1), "sessionTimeoutSeconds"),
        (scenario(device={"country": 5}), "device.country"),
        (scenario(device={"installTime": "yesterday"}), "device.installTime"),
        (scenario(project=[]), "project"),
    ],
)
def test_malformed_scenarios_name_the_field(doc: dict, field: str) -> None:
    with pytest.raises(InvalidScenario) as info:
        parse_scenario(doc)
    assert info.value.field == field


def test_invalid_event_in_a_step_is_reported_at_that_step() -> None:
    parsed = parse_scenario(scenario({"at": "+1s", "do": "track", "name": "SessionStarted"}))
    with pytest.raises(InvalidScenario) as info:
        simulate(parsed)
    assert info.value.field == "steps[1].name"


def test_steps_after_terminate_need_a_launch() -> None:
    parsed = parse_scenario(
        scenario({"at": "+1s", "do": "terminate"}, {"at": "+1s", "do": "track", "name": "A"})
    )
    with pytest.raises(InvalidScenario) as info:
        simulate(parsed)
    assert info.value.field == "steps[2].do"


def test_device_block_is_read() -> None:
    parsed = parse_scenario(
        scenario(
            device={
                "deviceId": "d-9",
                "platform": "iOS",
                "timezone": "Europe/Warsaw",
                "installTime": "2026-01-01T00:00:00Z",
                "application": "app-1",
            }
        )
    )
    assert parsed.device.device_id == "d-9"
    assert parsed.device.install_time == 1_767_225_600_000
    assert parsed.device.application == "app-1"


def test_simulation_is_deterministic() -> None:
    doc = scenario({"at": "+1s", "do": "track", "name": "A"}, {"at": "+1s", "do": "terminate"})
    assert simulate(parse_scenario(doc)) == simulate(parse_scenario(doc))


def test_warm_start_refetches_config_only_when_stale() -> None:
    doc = scenario(
        {"at": "+1s", "do": "background"},
        {"at": "+2m", "do": "foreground"},
        {"at": "+1s", "do": "background"},
        {"at": "+2h", "do": "foreground"},
        project={"configRefreshSeconds": 3600},
    )
    got = [line["name"] for line in simulate(parse_scenario(doc))]
    assert got == [
        "SessionStarted",
        "SdkInitialized",
        "ConfigFetchStarted",
        "ConfigFetchFinished",
        "SessionFinished",
        "SessionStarted",
        "SessionFinished",
        "SessionStarted",
        "ConfigFetchStarted",
        "ConfigFetchFinished",
    ]
