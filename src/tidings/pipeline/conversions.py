"""The attribution consumer: which campaign exposures the uploaded events convert.

It reads the event log like any consumer. A decision row with status SUCCESS (the treatment
group) or HOLDOUT (the control group) for a campaign that declares conversion goals is an
**exposure** of an identity (the device id for device decisions, else the user id, so
server-side decisions written in the same shape attribute the same way). An event row of the
same identity that matches a goal within its window after the decision **converts** it: the
first conversion of a decision and goal counts, later ones are repeats.

Each batch's decisions are taken before its events, so an upload carrying a decision and the
event that follows it converts within one batch. The state (exposures, conversions, the log row
of each first conversion) and this consumer's cursor are written in one transaction; every key
is natural (decision id; decision, goal and event id), so a batch handed over again after a
crash or a lost lease changes nothing. Rows that do not read (a payload that is not JSON, a
decision without an id) are skipped with a warning: one bad row never blocks the others.

**On a partitioned log** it runs per partition (``campaign-conversions@p<n>``), each batch's state
committed with that partition's cursor. An identity's exposures and its converting events are in
one partition: the identity is the device id, else the user id, which is also what a record is
partitioned by, and a server decision is logged in its triggering event's partition. So each
decision's conversions are found in the same order as on one log.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from tidings.core.campaigns import (
    Conversion,
    Exposure,
    Goal,
    attribution_key,
    conversions_of,
    exposure_of,
    longest_window_ms,
    parse_conversions,
)
from tidings.core.errors import InvalidCampaign
from tidings.core.partitions import partition_cursor, partition_key, partition_of
from tidings.pipeline.runner import Consumer
from tidings.storage import LogRecord, Store
from tidings.storage.attribution import ConversionIn

_log = logging.getLogger("tidings.pipeline.conversions")

CONSUMER_NAME = "campaign-conversions"
"""The attribution consumer's cursor (stable forever: renaming it replays the log)."""

Goals = dict[str, tuple[Goal, ...]]
"""Campaign id -> its conversion goals (campaigns without goals are left out)."""


def conversion_payload(
    conversion: Conversion, event_payload: Mapping[str, Any], log_id: str
) -> bytes:
    """The log payload of a conversion: the converting event's device/user context (so a stream
    record describes the same endpoint) and ``conversion``, what converted what."""
    e = conversion.exposure
    out: dict[str, Any] = {
        key: event_payload[key]
        for key in ("source", "device", "userId", "session", "message")
        if key in event_payload
    }
    out["appId"] = e.app_id
    out["conversion"] = {
        "id": log_id,
        "campaignId": e.campaign_id,
        "decisionId": e.decision_id,
        "treatmentId": e.treatment_id,
        "control": e.control,
        "goal": conversion.goal,
        "eventId": conversion.event_id,
        "eventName": conversion.event_name,
        "decidedAt": e.timestamp,
        "timestamp": conversion.timestamp,
    }
    return orjson.dumps(out)


class ConversionAttribution:
    """The consumer's state between batches: each app's goals, re-read every few seconds (a
    campaign edited to add a goal attributes from then on)."""

    def __init__(self, store: Store, *, refresh_seconds: float = 5.0) -> None:
        self.store = store
        self.refresh_seconds = refresh_seconds
        self._goals: dict[str, tuple[float, Goals]] = {}

    def consumer(self) -> Consumer:
        return Consumer(CONSUMER_NAME, self.handle)

    async def goals(self, app_id: str) -> Goals:
        """The app's campaigns with goals, whatever their state: a stopped campaign's
        exposures still convert within their windows."""
        now = time.monotonic()
        cached = self._goals.get(app_id)
        if cached is not None and now - cached[0] < self.refresh_seconds:
            return cached[1]
        found: Goals = {}
        for campaign in await self.store.list_campaigns(app_id):
            try:
                goals = parse_conversions(campaign.body.get("conversions"))
            except InvalidCampaign:
                continue
            if goals:
                found[campaign.id] = goals
        if len(self._goals) > 10_000:
            self._goals.clear()
        self._goals[app_id] = (now, found)
        return found

    async def handle(self, rows: Sequence[LogRecord]) -> None:
        if not rows:
            return
        exposures: list[Exposure] = []
        conversions: list[ConversionIn] = []
        by_app: dict[str, list[LogRecord]] = defaultdict(list)
        for row in rows:
            if row.kind in ("event", "decision"):
                by_app[row.app_id].append(row)
        for app_id, app_rows in by_app.items():
            goals = await self.goals(app_id)
            if not goals:
                continue
            fresh = _exposures(app_id, app_rows, goals)
            exposures.extend(fresh)
            conversions.extend(await self._conversions(app_id, app_rows, goals, fresh))
        if not exposures and not conversions:
            return  # nothing to keep: the runner moves the cursor as for any consumer
        await self.store.record_attribution(
            exposures, conversions, cursor=self._cursor(rows[0]), seq=rows[-1].seq
        )

    def _cursor(self, first: LogRecord) -> str:
        """The cursor the batch was read from (a partition's on a partitioned log)."""
        parts = self.store.partitions
        if parts <= 1:
            return CONSUMER_NAME
        key = partition_key(first.device_id, first.user_id)
        return partition_cursor(CONSUMER_NAME, partition_of(first.app_id, key, parts))

    async def _conversions(
        self, app_id: str, rows: Sequence[LogRecord], goals: Goals, fresh: Sequence[Exposure]
    ) -> list[ConversionIn]:
        names = {g.event.name for gs in goals.values() for g in gs}
        candidates = [
            (row, identity)
            for row in rows
            if row.kind == "event"
            and row.name in names
            and (identity := attribution_key(row.device_id, row.user_id)) is not None
        ]
        if not candidates:
            return []
        since = min(row.timestamp for row, _ in candidates) - longest_window_ms(goals)
        identities = list(dict.fromkeys(identity for _, identity in candidates))
        known: dict[str, dict[str, Exposure]] = defaultdict(dict)
        for e in await self.store.open_exposures(app_id, identities, since):
            known[e.identity][e.decision_id] = e
        for e in fresh:
            known[e.identity][e.decision_id] = e
        out: list[ConversionIn] = []
        for row, identity in candidates:
            mine = known.get(identity)
            if not mine:
                continue
            read = _event_of(row)
            if read is None:
                continue
            payload, event = read
            properties = event.get("properties")
            found = conversions_of(
                row.item_id,
                row.name,
                str(event.get("type", "custom")),
                properties if isinstance(properties, Mapping) else {},
                row.timestamp,
                exposures=mine.values(),
                goals=goals,
                seq=row.seq,
            )
            for c in found:
                log_id = f"{c.exposure.decision_id}/{c.goal}"
                out.append(
                    ConversionIn(
                        c, conversion_payload(c, payload, log_id), row.device_id, row.user_id
                    )
                )
        return out


def _exposures(app_id: str, rows: Sequence[LogRecord], goals: Goals) -> list[Exposure]:
    out: list[Exposure] = []
    for row in rows:
        if row.kind != "decision" or row.name not in goals:
            continue
        try:
            payload = orjson.loads(row.payload)
            decision = payload.get("decision")
        except (orjson.JSONDecodeError, AttributeError) as exc:
            _log.warning("conversions: decision seq %s does not read: %s", row.seq, exc)
            continue
        if not isinstance(decision, Mapping):
            _log.warning("conversions: decision seq %s has no decision object", row.seq)
            continue
        exposure = exposure_of(app_id, decision, row.device_id, row.user_id, row.seq)
        if exposure is not None:
            out.append(exposure)
    return out


def _event_of(row: LogRecord) -> tuple[Mapping[str, Any], Mapping[str, Any]] | None:
    try:
        payload = orjson.loads(row.payload)
    except orjson.JSONDecodeError as exc:
        _log.warning("conversions: event seq %s does not read: %s", row.seq, exc)
        return None
    event = payload.get("event") if isinstance(payload, Mapping) else None
    if not isinstance(event, Mapping):
        return None
    return payload, event
