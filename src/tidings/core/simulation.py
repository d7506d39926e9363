"""Run a parsed scenario on a :class:`~tidings.core.device.Device`, offline and deterministic.

Ids come from a seeded pseudo-random source so that two runs of the same scenario print the same
lines; nothing here reads a clock or touches a file.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from tidings.core.campaigns import (
    SERVER_CHANNEL,
    SUCCESS,
    Campaign,
    CampaignEngine,
    Decision,
    EngineState,
    EvaluationContext,
    Explanation,
    IdentityState,
    evaluate,
    explain,
    observe,
    parse_campaign,
    parse_project_settings,
)
from tidings.core.device import Device, DeviceState
from tidings.core.errors import InvalidCampaign, InvalidEvent, InvalidScenario
from tidings.core.events import EventRecord
from tidings.core.ids import IdFactory
from tidings.core.scenario import Scenario, Step, step_error

Line = dict[str, Any]


def build_engine(
    scenario: Scenario, channel: str = "in_app", *, factory: type[CampaignEngine] = CampaignEngine
) -> CampaignEngine:
    """The scenario's campaigns and project caps, validated with their JSON paths: the device's
    engine, or with ``channel="server"`` the server's (server campaigns)."""
    campaigns: list[Campaign] = []
    for i, raw in enumerate(scenario.campaigns):
        try:
            campaigns.append(parse_campaign(raw))
        except InvalidCampaign as exc:
            raise InvalidScenario(_join(f"campaigns[{i}]", exc.field), exc.reason) from None
    try:
        project = parse_project_settings(scenario.project)
    except InvalidCampaign as exc:
        raise InvalidScenario(_join("project", exc.field), exc.reason) from None
    return factory(campaigns, project, channel=channel)


class ExplainingEngine(CampaignEngine):
    """The device's engine, keeping for each event why each campaign triggered by it made no
    decision (:func:`explain`, right after the engine's own pass, on the same state)."""

    __slots__ = ("explained",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.explained: dict[str, list[Explanation]] = {}

    def process(
        self, event: EventRecord, ctx: EvaluationContext, state: EngineState
    ) -> list[Decision]:
        decisions = super().process(event, ctx, state)
        key = (event.name, event.type)
        triggered = {c.id for c in self.campaigns if (c.trigger.name, c.trigger.type) == key}
        found = [e for e in explain(self, event, ctx, state) if e.campaign_id in triggered]
        if found:
            self.explained[event.id] = found
        return decisions


SIMULATED_APP = "simulated-app"


def _join(prefix: str, path: str) -> str:
    if not path:
        return prefix
    return f"{prefix}{path}" if path.startswith("[") else f"{prefix}.{path}"


class Simulation:
    """A scripted device: one process at a time, launched and terminated by the script."""

    def __init__(self, scenario: Scenario, *, seed: int = 0, explain: bool = False) -> None:
        """``explain``: after an event that triggers a campaign which makes no decision, add a
        ``noDecision`` line naming the first rule that failed (off by default: the output of
        ``tidings simulate`` is a contract)."""
        self.scenario = scenario
        rng = random.Random(seed)
        factory = ExplainingEngine if explain else CampaignEngine
        self.engine = build_engine(scenario, factory=factory)
        self.device = Device(
            scenario.device,
            IdFactory(rng.randbytes),
            state=DeviceState(),
            session_timeout_ms=scenario.session_timeout_ms,
            config_refresh_ms=_refresh_ms(scenario),
            campaigns=self.engine,
            cohorts=scenario.cohorts,
        )
        self.server = build_engine(scenario, SERVER_CHANNEL)
        self.people: dict[str, IdentityState] = {}
        self.running = False

    def run(self) -> Iterator[Line]:
        """Every output line, oldest first, as JSON-able dicts."""
        explaining = self.engine if isinstance(self.engine, ExplainingEngine) else None
        for step in self.scenario.steps:
            try:
                pending: list[Line] = []
                for output in self._step(step):
                    if isinstance(output, Decision):
                        yield {"decision": output.to_json()}
                        continue
                    yield from pending
                    pending = []
                    yield output.to_json()
                    if explaining is not None and isinstance(output, EventRecord):
                        pending = _why_lines(output, explaining.explained.pop(output.id, []))
                yield from pending
            except InvalidEvent as exc:
                raise step_error(step, exc) from exc

    def _step(self, step: Step) -> list[Any]:
        device, now, args = self.device, step.at, step.args
        if step.do == "server_event":
            return self._server_event(step)
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

    def _server_event(self, step: Step) -> list[Any]:
        """A message that reaches the server from elsewhere (a backend's Segment call): its
        event, and with it the server campaigns' decisions and the calls they would make."""
        from tidings.core.segment import parse_message

        parsed = parse_message(
            step.args["message"],
            msg_type=None,
            received_ms=step.at,
            new_id=f"server-event-{step.index}",
            path="message",
        )
        app_id = self.scenario.device.application or SIMULATED_APP
        event = parsed.event.to_json()
        payload = {"source": "segment", "event": event, "message": parsed.message}
        obs = observe(payload, parsed.anonymous_id, parsed.user_id)
        assert obs is not None  # a Segment message names a user or an anonymous id
        state = self.people.setdefault(obs.identity, IdentityState())
        out: list[Any] = [_Line({"serverEvent": {"identity": obs.identity, **event}})]
        for made in evaluate(self.server, state, obs, app_id, self.scenario.cohorts):
            out.append(_Line({"decision": {"id": made.id, **made.decision.to_json()}}))
            if made.status == SUCCESS and made.content is not None:
                call = {
                    "webhookId": made.id,
                    "destinationId": made.content.destination_id,
                    "channelType": made.content.channel_type,
                    "body": made.body,
                }
                out.append(_Line({"call": call}))
        return out

    def _fetch_config(self, now: int) -> list[Any]:
        out = self.device.config_fetch_started(now)
        configured = [(c.id, c.name) for c in self.engine.campaigns]
        return out + self.device.config_fetch_finished(now, True, configured)


class _Line:
    """An output line that is already JSON-able (server events, decisions and calls)."""

    __slots__ = ("line",)

    def __init__(self, line: Line) -> None:
        self.line = line

    def to_json(self) -> Line:
        return self.line


def _why_lines(event: EventRecord, found: list[Explanation]) -> list[Line]:
    return [
        {"noDecision": {"eventId": event.id, "source": event.name, **e.to_json()}} for e in found
    ]


def _refresh_ms(scenario: Scenario) -> int:
    seconds = scenario.project.get("configRefreshSeconds", 3600)
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
        raise InvalidScenario("project.configRefreshSeconds", "must be a number >= 0")
    return round(seconds * 1000)


def simulate(scenario: Scenario, *, seed: int = 0) -> list[Line]:
    """All output lines of a scenario (raises :class:`InvalidScenario` on a bad step)."""
    return list(Simulation(scenario, seed=seed).run())
