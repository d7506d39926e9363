"""Builders for campaign JSON and a tiny scripted device driving the real engine."""

from __future__ import annotations

import dataclasses
from typing import Any

from tidings.core.campaigns import (
    Campaign,
    CampaignEngine,
    Decision,
    EngineState,
    EvaluationContext,
    parse_campaign,
    parse_project_settings,
)
from tidings.core.events import EventRecord
from tidings.core.profile import DeviceProfile

T0 = 1_767_607_200_000  # 2026-01-05T10:00:00Z
SEC = 1000
MIN = 60 * SEC
HOUR = 60 * MIN
DAY = 24 * HOUR


def campaign_json(
    cid: str = "c1",
    trigger: str = "Purchase",
    *,
    trigger_type: str = "custom",
    params: list[dict[str, Any]] | None = None,
    repeat: dict[str, Any] | None = None,
    limit: dict[str, Any] | None = None,
    targeting: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    triggering: dict[str, Any] = {
        "event": {"name": trigger, "type": trigger_type, "params": params or []}
    }
    if repeat is not None:
        triggering["repeat"] = repeat
    if limit is not None:
        triggering["limit"] = limit
    obj: dict[str, Any] = {
        "id": cid,
        "name": f"Campaign {cid}",
        "type": "DeepLink",
        "state": "Active",
        "triggering": triggering,
        "targeting": targeting or [],
        "content": {"url": f"app://{cid}"},
    }
    obj.update(extra)
    return obj


def make(**kwargs: Any) -> Campaign:
    return parse_campaign(campaign_json(**kwargs))


class Device:
    """Drives :class:`CampaignEngine` the way the device orchestrator does."""

    def __init__(
        self,
        campaigns: list[dict[str, Any]],
        *,
        project: dict[str, Any] | None = None,
        profile: DeviceProfile | None = None,
        now: int = T0,
        **ctx: Any,
    ) -> None:
        self.engine = CampaignEngine(
            [parse_campaign(c) for c in campaigns], parse_project_settings(project)
        )
        self.state = EngineState()
        self.now = now
        self.counter = 1
        self.ctx = EvaluationContext(
            profile=profile or DeviceProfile("device-1"),
            session_id="s1",
            session_counter=1,
            **ctx,
        )
        self.seq = 0
        self.log: list[Decision] = []

    def set(self, **changes: Any) -> None:
        self.ctx = dataclasses.replace(self.ctx, **changes)

    def new_session(self) -> list[Decision]:
        self.counter += 1
        self.set(session_id=f"s{self.counter}", session_counter=self.counter)
        return self.emit("SessionStarted", {"type": "warm"}, event_type="system")

    def advance(self, ms: int) -> None:
        self.now += ms

    def emit(
        self,
        name: str,
        properties: dict[str, Any] | None = None,
        *,
        event_type: str = "custom",
        after: int = SEC,
    ) -> list[Decision]:
        self.now += after
        self.seq += 1
        event = EventRecord(
            id=f"e{self.seq}",
            name=name,
            type=event_type,  # type: ignore[arg-type]
            timestamp=self.now,
            session_id=self.ctx.session_id,
            properties=properties or {},
        )
        decisions = self.engine.process(event, self.ctx, self.state)
        self.log.extend(decisions)
        return decisions

    def statuses(
        self, name: str = "Purchase", properties: dict[str, Any] | None = None, **kw: Any
    ) -> list[tuple[str, str]]:
        return [(d.campaign_id, d.status) for d in self.emit(name, properties, **kw)]

    def fired(
        self, name: str = "Purchase", properties: dict[str, Any] | None = None, **kw: Any
    ) -> bool:
        return any(d.status == "SUCCESS" for d in self.emit(name, properties, **kw))
