"""Attribution state on every backend and log (JetStream too): idempotent by key, first
conversion counted once, a log row per first conversion, and the cursor moved in the same
transaction."""

from __future__ import annotations

import orjson
from storage_support import Backend, new_app, run

from tidings.core.campaigns import Conversion, Exposure
from tidings.storage.attribution import ConversionIn

DAY = 86_400_000
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def _conversion(exposure: Exposure, event_id: str, goal: int = 0, ts: int = T0 + 5) -> ConversionIn:
    c = Conversion(exposure, goal, event_id, "Purchase", ts)
    payload = orjson.dumps({"source": "tidings", "appId": exposure.app_id, "conversion": {}})
    return ConversionIn(c, payload, device_id="dev", user_id=None)


def test_attribution_is_idempotent_and_counts_first_conversions(log_backend: Backend) -> None:
    async def go() -> None:
        store = await log_backend.open()
        try:
            app = (await new_app(store)).app_id
            a = Exposure(app, "c1", "d1", "d:dev", "A", T0)
            held = Exposure(app, "c1", "d2", "d:other", None, T0 + DAY)
            first = await store.record_attribution(
                [a, held],
                [_conversion(a, "e1"), _conversion(a, "e2"), _conversion(held, "e3")],
                cursor="conversions",
                seq=7,
            )
            assert first.exposures == 2 and first.repeats == 1
            assert [c.conversion.event_id for c in first.first] == ["e1", "e3"]
            again = await store.record_attribution(
                [a, held], [_conversion(a, "e1"), _conversion(a, "e2")], cursor="conversions", seq=5
            )
            assert (again.exposures, again.first, again.repeats) == (0, [], 0)
            assert await store.get_cursor("conversions") == 7
            later = await store.record_attribution([], [_conversion(a, "e4", goal=1)])
            assert len(later.first) == 1

            exposures, conversions = await store.conversion_counts("c1", "2026-01-01", "2026-01-02")
            assert sorted(exposures, key=str) == sorted(
                [("2026-01-01", "A", 1), ("2026-01-02", None, 1)], key=str
            )
            assert sorted(conversions, key=str) == sorted(
                [
                    ("2026-01-01", "A", 0, 1, 1),
                    ("2026-01-01", "A", 1, 1, 0),
                    ("2026-01-02", None, 0, 1, 0),
                ],
                key=str,
            )
            assert await store.conversion_counts("c1", "2026-01-03", "2026-01-09") == ([], [])

            rows = [r for r in await store.read_log(0) if r.kind == "conversion"]
            assert [(r.item_id, r.name, r.device_id) for r in rows] == [
                ("d1/0", "c1", "dev"),
                ("d2/0", "c1", "dev"),
                ("d1/1", "c1", "dev"),
            ]

            found = await store.open_exposures(app, ["d:dev", "d:other", "d:none"], T0)
            assert [e.decision_id for e in found] == ["d1", "d2"]
            assert found[1] == held
            assert await store.open_exposures(app, ["d:dev"], T0 + 1) == []
            assert await store.open_exposures("other-app", ["d:dev"], 0) == []
        finally:
            await store.close()

    run(go())


def test_attribution_survives_a_reopen(log_backend: Backend) -> None:
    async def go() -> None:
        store = await log_backend.open()
        app = (await new_app(store)).app_id
        a = Exposure(app, "c1", "d1", "d:dev", "A", T0)
        await store.record_attribution([a], [_conversion(a, "e1")], cursor="conv", seq=3)
        await store.close()
        store = await log_backend.open()
        try:
            again = await store.record_attribution([a], [_conversion(a, "e1")])
            assert (again.exposures, again.first, again.repeats) == (0, [], 0)
            assert await store.get_cursor("conv") == 3
            assert (await store.conversion_counts("c1", "2026-01-01", "2026-01-01"))[1] == [
                ("2026-01-01", "A", 0, 1, 0)
            ]
        finally:
            await store.close()

    run(go())
