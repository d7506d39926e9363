"""Device uploads at and past their limits: time range, list caps, nesting depth.

Each refusal names the field and index; the good items beside a refused one are stored.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from json_shapes import deep_json, nested, with_raw
from server_support import Harness, event, upload_body

pytestmark = [pytest.mark.reliability, pytest.mark.anyio]

EARLIEST = 946_684_800_000  # 2000-01-01T00:00:00Z
DAY = 86_400_000


def now_ms(h: Harness) -> int:
    return int(h.clock[0] * 1000)


async def _campaign(h: Harness) -> str:
    created = await h.store.create_campaign(h.app_id, {"name": "c"}, "Active")
    return created.id


def _decision(decision_id: str, campaign_id: str, ts: int) -> dict[str, Any]:
    return {"id": decision_id, "campaignId": campaign_id, "status": "SUCCESS", "timestamp": ts}


async def _stored_events(h: Harness) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for record in await h.store.recent_events(h.app_id, 1000):
        out[record.item_id] = orjson.loads(record.payload)
    return out


async def test_times_outside_the_range_are_rejected_item_by_item(sq: Harness) -> None:
    now = now_ms(sq)
    latest = now + DAY
    campaign_id = await _campaign(sq)
    body = upload_body(
        sq.app_id,
        [
            event("at-earliest", timestamp=EARLIEST),
            event("too-old", timestamp=EARLIEST - 1),
            event("at-latest", timestamp=latest),
            event("too-new", timestamp=latest + 1),
            event("year-10000", timestamp=253_402_300_800_000),
            event("in-rejected-session", timestamp=now, sessionId="s-bad"),
        ],
        decisions=[
            _decision("d-ok", campaign_id, now),
            _decision("d-epoch", campaign_id, 0),
            _decision("d-far", campaign_id, 2**53 - 1),
        ],
        sessions=[
            {"id": "s-1", "counter": 1, "type": "cold", "startedAt": now - 1000},
            {"id": "s-bad", "counter": 2, "type": "warm", "startedAt": 1_000},
            {"id": "s-late", "startedAt": now, "endedAt": latest + 1},
        ],
    )
    body["device"]["installTime"] = 5
    r = await sq.upload(with_raw(body, "DEEP", deep_json(300)))
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["accepted"] == 3
    assert [(x["index"], x["field"]) for x in result["rejected"]] == [
        (1, "events[1].timestamp"),
        (3, "events[3].timestamp"),
        (4, "events[4].timestamp"),
    ]
    assert "2000-01-01T00:00:00.000Z" in result["rejected"][0]["message"]
    assert result["decisions"]["accepted"] == 1
    assert [x["field"] for x in result["decisions"]["rejected"]] == [
        "decisions[1].timestamp",
        "decisions[2].timestamp",
    ]
    assert [(x["index"], x["field"], x["code"]) for x in result["sessions"]["rejected"]] == [
        (1, "sessions[1].startedAt", "invalid_session"),
        (2, "sessions[2].endedAt", "invalid_session"),
    ]
    assert [(x["field"], x["code"]) for x in result["device"]["rejected"]] == [
        ("device.installTime", "invalid_device")
    ]

    stored = await _stored_events(sq)
    assert set(stored) == {"at-earliest", "at-latest", "in-rejected-session"}
    assert stored["in-rejected-session"]["session"] is None
    assert "installTime" not in stored["at-earliest"]["device"]
    stats = await sq.store.campaign_stats(campaign_id)
    assert stats.decisions == {"SUCCESS": 1}


async def test_the_range_follows_the_server_clock(sq: Harness) -> None:
    event_time = now_ms(sq) + 2 * DAY
    r = await sq.upload(upload_body(sq.app_id, [event("e-ahead", timestamp=event_time)]))
    assert r.json()["accepted"] == 0
    sq.clock[0] += 2 * 86_400  # two days later the same time is believable
    r = await sq.upload(upload_body(sq.app_id, [event("e-ahead", timestamp=event_time)]))
    assert r.json()["accepted"] == 1


@pytest.mark.parametrize(("field", "limit"), [("decisions", 1000), ("sessions", 100)])
async def test_decisions_and_sessions_are_capped_like_events(
    sq: Harness, field: str, limit: int
) -> None:
    campaign_id = await _campaign(sq)
    now = now_ms(sq)

    def items(n: int) -> list[dict[str, Any]]:
        if field == "decisions":
            return [_decision(f"d-{i}", campaign_id, now) for i in range(n)]
        return [{"id": f"s-{i}", "startedAt": now} for i in range(n)]

    over = await sq.upload(upload_body(sq.app_id, [event("e-1")], **{field: items(limit + 1)}))
    assert over.status_code == 413, over.text
    error = over.json()["error"]
    assert error["code"] == f"too_many_{field}"
    assert error["message"].startswith(f"{field}: {limit + 1} {field}; at most {limit}")
    assert await sq.store.recent_events(sq.app_id) == []

    full = await sq.upload(upload_body(sq.app_id, [event("e-1")], **{field: items(limit)}))
    assert full.status_code == 200, full.text
    assert full.json()["accepted"] == 1
    if field == "decisions":
        assert full.json()["decisions"]["accepted"] == limit


async def test_items_nested_too_deep_are_rejected_alone(sq: Harness) -> None:
    """Past 32 levels an item is refused; at 300 (where serialising would fail) too."""
    campaign_id = await _campaign(sq)
    now = now_ms(sq)
    system = {
        "id": "sys-deep",
        "name": "EventTriggered",
        "type": "system",
        "timestamp": now,
        "sessionId": None,
        "properties": {"source": "X", "properties": "DEEP"},
    }
    body = upload_body(
        sq.app_id,
        [
            event("ok-1"),
            system,
            {**event("extra-deep"), "extra": nested(40)},
            {**event("at-limit"), "extra": nested(29)},
            event("ok-2"),
        ],
        decisions=[
            {**_decision("d-deep", campaign_id, now), "extra": [nested(31)]},
            _decision("d-ok", campaign_id, now),
        ],
        sessions=[{"id": "s-1", "startedAt": now}, {"id": "s-deep", "more": nested(31)}],
    )
    r = await sq.upload(with_raw(body, "DEEP", deep_json(300)))
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["accepted"] == 3
    rejected = {x["index"]: x for x in result["rejected"]}
    assert sorted(rejected) == [1, 2]
    assert rejected[1]["field"].startswith("events[1].properties.properties.a.a")
    assert "nested deeper than 32 levels" in rejected[1]["message"]
    assert rejected[2]["field"].startswith("events[2].extra.a")
    assert [x["index"] for x in result["decisions"]["rejected"]] == [0]
    assert [x["index"] for x in result["sessions"]["rejected"]] == [1]
    assert set(await _stored_events(sq)) == {"ok-1", "at-limit", "ok-2"}


async def test_an_envelope_nested_too_deep_is_400(sq: Harness) -> None:
    body = upload_body(sq.app_id, [event("e-1")])
    body["device"]["extra"] = nested(31)
    r = await sq.upload(body)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "too_deep"
    assert r.json()["error"]["message"].startswith("device.extra.a.a")
    body["device"]["extra"] = nested(30)
    assert (await sq.upload(body)).status_code == 200
