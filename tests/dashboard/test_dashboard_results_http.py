"""The results page and the editor's Goal step over plain HTTP (httpx over ASGI)."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from dash_support import AsgiHarness

from tidings.core.campaigns import Conversion, Exposure
from tidings.server.dashboard.session import csrf_token
from tidings.storage.attribution import ConversionIn

pytestmark = pytest.mark.anyio
T0 = 1_767_268_800_000  # 2026-01-01T12:00:00Z
GOAL = {"event": {"name": "Purchase", "type": "custom", "params": []}, "windowHours": 24}


async def _sign_in(h: AsgiHarness) -> str:
    r = await h.client.post("/signin", data={"token": h.token, "next": "/"})
    assert r.status_code == 303
    return csrf_token(h.token)


async def _campaign(h: AsgiHarness, **extra: Any) -> str:
    body = {
        "name": "Upgrade",
        "type": "DeepLink",
        "triggering": {
            "event": {"name": "Open", "type": "custom"},
            "repeat": {"repeatType": "every", "repeatEntity": "event", "repeatValue": [1]},
        },
        "content": {"url": "app://upgrade"},
        **extra,
    }
    return (await h.store.create_campaign(h.app_id, body, "Active")).id  # type: ignore[arg-type]


async def test_results_page_csv_and_range(asgi: AsgiHarness) -> None:
    await _sign_in(asgi)
    cid = await _campaign(asgi, conversions=[GOAL])
    a = Exposure(asgi.app_id, cid, "d1", "d:x", "0", T0)
    held = Exposure(asgi.app_id, cid, "d2", "d:y", None, T0)
    converted = ConversionIn(Conversion(a, 0, "e1", "Purchase", T0 + 1), b"{}")
    await asgi.store.record_attribution([a, held], [converted])

    r = await asgi.client.get(f"/campaigns/{cid}/results?from=2025-12-31&to=2026-01-02")
    assert r.status_code == 200
    assert '<tr data-group="0">' in r.text and '<tr data-group="control">' in r.text
    assert '<td class="num rate">100.0%</td>' in r.text
    assert '<td class="num rate">0.0%</td>' in r.text
    assert "(custom)" in r.text
    assert r.text.count('<tr><th scope="row">20') == 3  # every day of the range

    r = await asgi.client.get(f"/campaigns/{cid}/results?range=7")
    assert r.status_code == 200 and 'id="range-7" aria-current="page"' in r.text

    r = await asgi.client.get(f"/campaigns/{cid}/results.csv?from=2026-01-01&to=2026-01-01")
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [(x["group"], x["exposed"], x["converted"]) for x in rows] == [
        ("treatment", "1", "1"),
        ("control", "1", "0"),
    ]

    r = await asgi.client.get(f"/campaigns/{cid}/results?from=2026-02-30")
    assert r.status_code == 400 and "from: must be a day" in r.text
    r = await asgi.client.get("/campaigns/nope/results")
    assert r.status_code == 404


async def test_a_campaign_without_goals_says_how_to_add_one(asgi: AsgiHarness) -> None:
    await _sign_in(asgi)
    cid = await _campaign(asgi)
    r = await asgi.client.get(f"/campaigns/{cid}/results")
    assert r.status_code == 200 and 'id="no-goals"' in r.text


async def test_the_goal_step_adds_saves_and_bounds_conversion_events(asgi: AsgiHarness) -> None:
    csrf = await _sign_in(asgi)
    cid = await _campaign(asgi, conversions=[GOAL, GOAL])
    url = f"/campaigns/{cid}"
    page = (await asgi.client.get(url)).text
    assert 'id="step-goal"' in page and 'name="conversions[1].windowHours"' in page
    form = {
        "csrf": csrf,
        "name": "Upgrade",
        "type": "DeepLink",
        "triggering.event.name": "Open",
        "triggering.repeat.repeatType": "every",
        "triggering.repeat.repeatEntity": "event",
        "triggering.repeat.repeatValue": "1",
        "content.url": "app://upgrade",
        "conversions[0].event.otherName": "Purchase",
        "conversions[0].windowHours": "12",
        "conversions[1].event.name": "SessionStarted",
        "conversions[1].windowHours": "1.5",
    }
    r = await asgi.client.post(url, data={**form, "action": "add-goal"})
    assert 'name="conversions[2].windowHours" type="number" value="72"' in r.text
    assert "Add conversion event" not in r.text  # three is the most
    r = await asgi.client.post(url, data={**form, "action": "save"})
    assert r.status_code == 303
    stored = await asgi.store.get_campaign(cid)
    assert stored is not None
    assert stored.body["conversions"] == [
        {"event": {"name": "Purchase", "type": "custom", "params": []}, "windowHours": 12},
        {"event": {"name": "SessionStarted", "type": "system", "params": []}, "windowHours": 1.5},
    ]
    bad = {**form, "conversions[1].windowHours": "9999", "action": "save"}
    r = await asgi.client.post(url, data=bad)
    assert r.status_code == 400
    assert 'id="f-conversions-1-windowHours-error"' in r.text
