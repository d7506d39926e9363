"""``GET /admin/api/campaigns/{id}/results``: conversions per treatment and control over a range
of UTC days, JSON or CSV, after real uploads and the pipeline's attribution consumer."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from server_support import T0, Harness, event, upload_body

from tidings.core.campaigns import lift, lift_interval, wilson_interval
from tidings.pipeline import build_pipeline

pytestmark = pytest.mark.anyio
DAY0 = "2023-11-14"  # T0's UTC day
HOUR = 3_600_000


def _campaign() -> dict[str, Any]:
    return {
        "name": "Upgrade",
        "type": "DeepLink",
        "triggering": {"event": {"name": "Open", "type": "custom", "params": []}},
        "targeting": [],
        "content": {"url": "myapp://upgrade"},
        "holdoutPercent": 20,
        "treatments": [
            {"id": "A", "sizePercent": 50, "content": {"url": "myapp://a"}},
            {"id": "B", "sizePercent": 50, "content": {"url": "myapp://b"}},
        ],
        "conversions": [
            {"event": {"name": "PurchaseCompleted", "type": "custom"}, "windowHours": 24}
        ],
    }


def _decision(n: int, cid: str, status: str, treatment: str | None) -> dict[str, Any]:
    return {
        "id": f"d-{n}",
        "campaignId": cid,
        "status": status,
        "treatmentId": treatment,
        "source": "Open",
        "eventId": f"o-{n}",
        "timestamp": T0,
    }


async def _device(srv: Harness, n: int, cid: str, group: str | None, buys: bool) -> None:
    status = "HOLDOUT" if group is None else "SUCCESS"
    body = upload_body(
        srv.app_id,
        [event(f"p-{n}", timestamp=T0 + HOUR)] if buys else [],
        decisions=[_decision(n, cid, status, group)],
    )
    body["device"]["deviceId"] = f"dev-{n}"
    r = await srv.upload(body)
    assert r.status_code == 200, r.text


async def test_results_per_treatment_and_control(srv: Harness) -> None:
    c, h = srv.client, srv.admin
    r = await c.post(f"/admin/api/apps/{srv.app_id}/campaigns", json=_campaign(), headers=h)
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    plan = {"A": (20, 12), "B": (20, 5), None: (10, 3)}  # group: (exposed, converted)
    n = 0
    for group, (exposed, converted) in plan.items():
        for i in range(exposed):
            n += 1
            await _device(srv, n, cid, group, buys=i < converted)
    await build_pipeline(srv.store).runner.run_until_idle()

    url = f"/admin/api/campaigns/{cid}/results?from=2023-11-12&to=2023-11-15"
    r = await c.get(url, headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["goals"] == ["PurchaseCompleted"]
    assert [d["day"] for d in body["byDay"]] == ["2023-11-12", "2023-11-13", DAY0, "2023-11-15"]
    groups = {g["treatmentId"]: g for g in body["groups"]}
    assert list(groups) == ["A", "B", None]
    for group, (exposed, converted) in plan.items():
        got = groups[group]
        assert got["exposed"] == exposed
        (goal,) = got["goals"]
        assert goal["converted"] == converted
        assert goal["interval"] == pytest.approx(list(wilson_interval(converted, exposed) or ()))
    a = groups["A"]["goals"][0]
    assert a["lift"] == pytest.approx(lift(12, 20, 3, 10))
    assert a["liftInterval"] == pytest.approx(list(lift_interval(12, 20, 3, 10) or ()))
    empty = body["byDay"][0]["groups"]
    assert [(g["exposed"], g["converted"]) for g in empty] == [(0, [0]), (0, [0]), (0, [0])]

    r = await c.get(url + "&format=csv", headers=h)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == ["day", "group", "treatment_id", "goal", "exposed", "converted", "rate"]
    assert len(rows) == 1 + 4 * 3
    assert [DAY0, "treatment", "A", "PurchaseCompleted", "20", "12", "0.600000"] in rows

    outside = await c.get(
        f"/admin/api/campaigns/{cid}/results?from=2024-01-01&to=2024-01-01", headers=h
    )
    assert [g["exposed"] for g in outside.json()["groups"]] == [0, 0, 0]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=yesterday", "from"),
        ("to=2023-02-30", "to"),
        ("from=2023-11-15&to=2023-11-14", "from"),
        ("from=2020-01-01&to=2023-01-01", "from"),
        ("format=xml", "format"),
    ],
)
async def test_a_bad_range_is_a_400_naming_the_parameter(
    sq: Harness, query: str, field: str
) -> None:
    c, h = sq.client, sq.admin
    r = await c.post(f"/admin/api/apps/{sq.app_id}/campaigns", json=_campaign(), headers=h)
    cid = r.json()["id"]
    r = await c.get(f"/admin/api/campaigns/{cid}/results?{query}", headers=h)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["message"].startswith(f"{field}:")
    missing = await c.get("/admin/api/campaigns/nope/results", headers=h)
    assert missing.status_code == 404


async def test_conversion_goals_are_validated_with_the_campaign(sq: Harness) -> None:
    body = _campaign()
    body["conversions"] = [{"event": {"type": "custom"}, "windowHours": -1}]
    r = await sq.client.post(f"/admin/api/apps/{sq.app_id}/campaigns", json=body, headers=sq.admin)
    assert r.status_code == 400
    paths = {e["path"] for e in r.json()["error"]["errors"]}
    assert paths == {"conversions[0].event.name", "conversions[0].windowHours"}
