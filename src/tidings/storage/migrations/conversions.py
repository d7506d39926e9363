"""Migration 7 (both backends): campaign conversion attribution.

``campaign_exposures`` holds one row per decision that exposed an identity to a campaign with
conversion goals: SUCCESS (``treatment_id`` set) or HOLDOUT (``treatment_id`` NULL, the control
group), with the UTC ``day`` of the decision, its ``seq`` in the log and the id of the event that
triggered it. ``campaign_conversions`` holds one row per
(decision, goal, converting event): the key makes attribution idempotent by event id, and
``is_first`` marks the one conversion per decision and goal that counts (the others are repeats).
A conversion carries its exposure's ``day`` and ``treatment_id`` so results group without a join.
"""

from __future__ import annotations

from tidings.storage.migrations import Migration


def _statements(ts: str) -> list[str]:
    return [
        f"""CREATE TABLE campaign_exposures (
            campaign_id TEXT NOT NULL, decision_id TEXT NOT NULL, app_id TEXT NOT NULL,
            identity TEXT NOT NULL, treatment_id TEXT, ts {ts} NOT NULL, day TEXT NOT NULL,
            seq {ts} NOT NULL, trigger_event_id TEXT,
            PRIMARY KEY (campaign_id, decision_id))""",
        "CREATE INDEX campaign_exposures_identity ON campaign_exposures (app_id, identity, ts)",
        "CREATE INDEX campaign_exposures_day ON campaign_exposures (campaign_id, day)",
        f"""CREATE TABLE campaign_conversions (
            campaign_id TEXT NOT NULL, decision_id TEXT NOT NULL, goal INTEGER NOT NULL,
            event_id TEXT NOT NULL, is_first INTEGER NOT NULL, ts {ts} NOT NULL,
            day TEXT NOT NULL, treatment_id TEXT,
            PRIMARY KEY (campaign_id, decision_id, goal, event_id))""",
        "CREATE INDEX campaign_conversions_day ON campaign_conversions (campaign_id, day)",
    ]


SQLITE_CONVERSIONS: Migration = (7, "campaign conversion attribution", _statements("INTEGER"))
POSTGRES_CONVERSIONS: Migration = (7, "campaign conversion attribution", _statements("BIGINT"))
