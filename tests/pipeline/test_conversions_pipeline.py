"""The attribution consumer on every backend: uploads as the server stores them, the pipeline
as ``tidings worker`` builds it, results counted per treatment and control."""

from __future__ import annotations

from typing import Any

from campaign_scenario import upload
from storage_support import Backend, run

from tidings.pipeline import build_pipeline
from tidings.pipeline.conversions import CONSUMER_NAME

T0 = 1_767_268_800_000  # 2026-01-01T12:00:00Z
HOUR = 3_600_000
GOALS = [
    {"event": {"name": "Purchase", "type": "custom", "params": []}, "windowHours": 24},
    {
        "event": {
            "name": "Purchase",
            "type": "custom",
            "params": [{"name": "plan", "value": "annual"}],
        },
        "windowHours": 2,
    },
]


def _campaign(conversions: Any = GOALS) -> dict[str, Any]:
    return {
        "name": "Upgrade",
        "type": "DeepLink",
        "priority": 1,
        "triggering": {"event": {"name": "Open", "type": "custom", "params": []}},
        "targeting": [],
        "content": {"url": "app://upgrade"},
        "conversions": conversions,
    }


def _decision(did: str, cid: str, status: str, treatment: str | None, ts: int) -> dict[str, Any]:
    return {
        "id": did,
        "campaignId": cid,
        "status": status,
        "treatmentId": treatment,
        "source": None,
        "eventId": None,
        "timestamp": ts,
    }


def _event(eid: str, name: str, ts: int, **props: Any) -> dict[str, Any]:
    return {
        "id": eid,
        "name": name,
        "type": "custom",
        "timestamp": ts,
        "sessionId": "s",
        "properties": props,
    }


def test_conversions_are_attributed_once_per_decision_and_goal(backend: Backend) -> None:
    async def go() -> None:
        store = await backend.open()
        try:
            project = await store.create_project("P")
            app = (await store.create_app(project.id, "A", "ios")).app_id
            cid = (await store.create_campaign(app, _campaign(), "Active")).id
            other = (await store.create_campaign(app, _campaign(None), "Active")).id
            # dev-a: treatment A, buys twice (one repeat), the second an annual plan in 2 h.
            await upload(
                store,
                app,
                "dev-a",
                None,
                decisions=[_decision("d-a", cid, "SUCCESS", "A", T0)],
                events=[
                    _event("e-a1", "Purchase", T0 + HOUR),
                    _event("e-a2", "Purchase", T0 + HOUR + 1, plan="annual"),
                ],
            )
            # dev-h: held out, buys after the decision (control converts).
            await upload(
                store, app, "dev-h", None, decisions=[_decision("d-h", cid, "HOLDOUT", None, T0)]
            )
            await upload(
                store, app, "dev-h", None, events=[_event("e-h", "Purchase", T0 + 3 * HOUR)]
            )
            # dev-b: treatment B, buys before its decision and after the window: no conversion.
            await upload(store, app, "dev-b", None, events=[_event("e-b0", "Purchase", T0 - 1)])
            await upload(
                store, app, "dev-b", None, decisions=[_decision("d-b", cid, "SUCCESS", "B", T0)]
            )
            await upload(
                store, app, "dev-b", None, events=[_event("e-b1", "Purchase", T0 + 25 * HOUR)]
            )
            # A capped decision exposes nobody; a campaign without goals attributes nothing.
            await upload(
                store,
                app,
                "dev-c",
                None,
                decisions=[
                    _decision("d-c", cid, "DAILY_CAP", None, T0),
                    _decision("d-o", other, "SUCCESS", "0", T0),
                ],
                events=[_event("e-c", "Purchase", T0 + 1)],
            )

            pipeline = build_pipeline(store)
            await pipeline.runner.run_until_idle()
            exposures, conversions = await store.conversion_counts(cid, "2026-01-01", "2026-01-01")
            assert sorted(exposures, key=str) == sorted(
                [("2026-01-01", "A", 1), ("2026-01-01", None, 1), ("2026-01-01", "B", 1)], key=str
            )
            assert sorted(conversions, key=str) == sorted(
                [
                    ("2026-01-01", "A", 0, 1, 1),
                    ("2026-01-01", "A", 1, 1, 0),
                    ("2026-01-01", None, 0, 1, 0),
                ],
                key=str,
            )
            assert await store.conversion_counts(other, "2026-01-01", "2026-01-01") == ([], [])
            logged = [r for r in await store.read_log(0) if r.kind == "conversion"]
            assert sorted(r.item_id for r in logged) == ["d-a/0", "d-a/1", "d-h/0"]
            assert await store.get_cursor(CONSUMER_NAME) == await store.last_seq()

            # The whole log again (a crash before the cursor moved): nothing changes.
            await store.reset_cursor(CONSUMER_NAME, 0)
            await build_pipeline(store).runner.run_until_idle()
            assert (await store.conversion_counts(cid, "2026-01-01", "2026-01-01"))[1] == (
                conversions
            )
            assert len([r for r in await store.read_log(0) if r.kind == "conversion"]) == 3
        finally:
            await store.close()

    run(go())
