"""Campaign stats are bucketed by UTC day, for every timestamp a record can carry.

Ingest refuses times outside its range, but the store must not depend on that: a decision or a
``CampaignShown`` at year 10000 or later is still counted, in a day named like any other.
"""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st
from storage_support import Backend, decision, event, new_app, run

from tidings.storage.counting import utc_day

YEAR_10000_MS = 253_402_300_800_000


@settings(max_examples=300)
@given(st.integers(min_value=-30_610_224_000_000, max_value=YEAR_10000_MS - 1))
def test_days_agree_with_the_calendar(ts: int) -> None:
    """Inside what ``datetime`` can name (years 1000 to 9999 here), the same day."""
    expected = datetime.fromtimestamp(ts // 86_400_000 * 86_400, UTC).strftime("%Y-%m-%d")
    assert utc_day(ts) == expected


@settings(max_examples=200)
@given(st.integers(min_value=-(2**63), max_value=2**63))
def test_every_timestamp_has_a_day(ts: int) -> None:
    year, month, day = utc_day(ts).lstrip("-").split("-")
    assert len(year) >= 4 and 1 <= int(month) <= 12 and 1 <= int(day) <= 31


def test_far_future_decisions_and_outcomes_are_counted(backend: Backend) -> None:
    async def go() -> None:
        store = await backend.open()
        try:
            app = await new_app(store)
            shown = event(
                "e-far",
                "CampaignShown",
                type_="system",
                ts=YEAR_10000_MS,
                properties={"campaignId": "c_1"},
            )
            await store.ingest(
                app.app_id,
                [shown],
                [decision("d-far", ts=2**53 - 1)],
                arrival_ms=1,
            )
            stats = await store.campaign_stats("c_1")
            assert stats.decisions == {"SUCCESS": 1}
            assert stats.shown == 1
            assert [d.day for d in stats.by_day] == ["10000-01-01", "287396-10-12"]
        finally:
            await store.close()

    run(go())
