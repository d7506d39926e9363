"""Run a parsed scenario on a :class:`~tidings.core.device.Device`, offline and deterministic.

Ids come from a seeded pseudo-random source so that two runs of the same scenario print the same
lines; nothing here reads a clock or touches a file.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from tidings.core.campaigns import CampaignEngine, Decision, parse_campaign, parse_project_settings
from tidings.core.device import Device, DeviceState
from tidings.core.errors import InvalidCampaign, InvalidEvent, InvalidScenario
from tidings.core.ids import IdFactory
from tidings.core.scenario import Scenario, Step, step_error

Line = dict[str, Any]


def build_engine(scenario: Scenario) -> CampaignEngine:
    """The scenario's campaigns and project caps, validated with their JSON paths."""
    campaigns = []
    for i, raw in enumerate(scenario.campaigns):
        try:
            campaigns.append(parse_campaign(raw))
        except InvalidCampaign as exc:
            raise InvalidScenario(_join(f"campaigns[{i}]", exc.field), exc.reason) from None
    try:
        project = parse_project_settings(scenario.project)
    except InvalidCampaign as exc:
        raise InvalidScenario(_join("project", exc.field), exc.reason) from None
    return CampaignEngine(campaigns, project)


def _join(prefix: str, path: str) -> str:
    if not path:
        return prefix
    return f"{prefix}{path}" if path.startswith("[") else f"{prefix}.{path}"


class Simulation:
    """A scripted device: one process at a time, launched and terminated by the script."""

    def __init__(self, scenario: Scenario, *, seed: int = 0) -> None:
        self.scenario = scenario
        rng = random.Random(seed)
        self.engine = build_engine(scenario)
        self.device = Device(
            scenario.device,
            IdFactory(rng.randbytes),
            state=DeviceState(),
            session_timeout_ms=scenario.session_timeout_ms,
            config_refresh_ms=_refresh_ms(scenario),
            campaigns=self.engine,
            cohorts=scenario.cohorts,
        )
        self.running = False

    def run(self) -> Iterator[Line]:
        """Every output line, oldest first, as JSON-able dicts."""
        for step in self.scenario.steps:
            try:
                for output in self._step(step):
                    if isinstance(output, Decision):
                        yield {"decision": output.to_json()}
                    else:
                        yield output.to_json()
            except InvalidEvent as exc:
                raise step_error(step, exc) from exc

    def _step(self, step: Step) -> list[Any]:
        device, now, args = self.device, step.at, step.args
        if step.do == "launch":
            self.running = True
            out = device.launch(now)
            return out + self._fetch_config(now)
        if not self.running:
            raise InvalidScenario(f"{step.path}.do", "the app is not running: launch it first")
        if step.do == "terminate":
            self.running = False
            return device.terminate(now)
        if step.do == "background":
            return device.background(now)
        if step.do == "foreground":
            out = device.foreground(now)
            if out and device.config_is_stale(now):
                out += self._fetch_config(now)
            return out
        if step.do == "track":
            return device.track(args["name"], args.get("properties"), now)
        if step.do == "set_property":
            return device.set_custom_property(args["key"], args["value"], now)
        if step.do == "set_properties":
            return device.set_custom_properties(args["properties"], now)
        if step.do == "remove_property":
            return device.remove_custom_property(args["key"], now)
        if step.do == "clear_properties":
            return device.clear_custom_properties(now)
        if step.do == "set_user_id":
            device.set_user_id(args["userId"])
            return []
        if step.do == "resolve":
            return device.campaign_resolved(
                args["campaignId"], args["result"], args.get("unavailableReason"), now
            )
        raise InvalidScenario(f"{step.path}.do", f"unknown step {step.do!r}")  # pragma: no cover

    def _fetch_config(self, now: int) -> list[Any]:
        out = self.device.config_fetch_started(now)
        configured = [(c.id, c.name) for c in self.engine.campaigns]
        return out + self.device.config_fetch_finished(now, True, configured)


def _refresh_ms(scenario: Scenario) -> int:
    seconds = scenario.project.get("configRefreshSeconds", 3600)
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
        raise InvalidScenario("project.configRefreshSeconds", "must be a number >= 0")
    return round(seconds * 1000)


def simulate(scenario: Scenario, *, seed: int = 0) -> list[Line]:
    """All output lines of a scenario (raises :class:`InvalidScenario` on a bad step)."""
    return list(Simulation(scenario, seed=seed).run())
