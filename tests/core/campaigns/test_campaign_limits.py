"""Campaign limits and project frequency caps (docs/spec/campaigns.md, Limits)."""

from __future__ import annotations

from campaign_builders import DAY, HOUR, MIN, SEC, Device, campaign_json

from tidings.core.profile import DeviceProfile


def statuses(device: Device, times: int, name: str = "Purchase") -> list[str]:
    return [device.emit(name)[0].status for _ in range(times)]


def test_session_limit() -> None:
    device = Device([campaign_json(limit={"limit": 2, "limitType": "session"})])
    assert statuses(device, 3) == ["SUCCESS", "SUCCESS", "SESSION_CAP"]
    device.new_session()
    assert statuses(device, 3) == ["SUCCESS", "SUCCESS", "SESSION_CAP"]


def test_device_limit_is_lifetime_without_interval() -> None:
    device = Device([campaign_json(limit={"limit": 1, "limitType": "device"})])
    assert statuses(device, 2) == ["SUCCESS", "CAMPAIGN_CAP"]
    device.new_session()
    device.advance(365 * DAY)
    assert statuses(device, 1) == ["CAMPAIGN_CAP"]


def test_device_limit_per_rolling_interval() -> None:
    device = Device(
        [
            campaign_json(
                limit={
                    "limit": 2,
                    "limitType": "device",
                    "interval": 1,
                    "intervalDimension": "hour",
                }
            )
        ]
    )
    assert statuses(device, 3) == ["SUCCESS", "SUCCESS", "CAMPAIGN_CAP"]  # at +1s, +2s, +3s
    device.advance(HOUR - 3 * SEC)  # next event at +1h+1s: the +1s show is exactly 1 h old
    assert statuses(device, 1) == ["SUCCESS"]
    assert device.emit("Purchase", after=500)[0].status == "CAMPAIGN_CAP"  # +2s show still in


def test_interval_dimensions() -> None:
    for dimension, unit in (("sec", SEC), ("min", MIN), ("hour", HOUR), ("day", DAY)):
        device = Device(
            [
                campaign_json(
                    limit={
                        "limit": 1,
                        "limitType": "device",
                        "interval": 2,
                        "intervalDimension": dimension,
                    }
                )
            ]
        )
        assert statuses(device, 1) == ["SUCCESS"]
        device.advance(2 * unit - 2 * SEC)
        assert statuses(device, 1) == ["CAMPAIGN_CAP"]  # 2 units - 1 s after the show
        assert statuses(device, 1) == ["SUCCESS"]  # exactly 2 units after


def test_interval_alone_is_a_cool_down() -> None:
    device = Device([campaign_json(limit={"interval": 10, "intervalDimension": "min"})])
    assert statuses(device, 2) == ["SUCCESS", "CAMPAIGN_CAP"]
    device.advance(10 * MIN)
    assert statuses(device, 1) == ["SUCCESS"]


def test_session_limit_with_interval_counts_session_shows_inside_window() -> None:
    device = Device(
        [
            campaign_json(
                limit={
                    "limit": 1,
                    "limitType": "session",
                    "interval": 5,
                    "intervalDimension": "min",
                }
            )
        ]
    )
    assert statuses(device, 2) == ["SUCCESS", "SESSION_CAP"]
    device.advance(5 * MIN)
    assert statuses(device, 1) == ["SUCCESS"]
    device.new_session()
    assert statuses(device, 1) == ["SUCCESS"]


def test_lifetime_count() -> None:
    device = Device([campaign_json(limit={"count": 2})])
    assert statuses(device, 2) == ["SUCCESS", "SUCCESS"]
    device.new_session()
    assert statuses(device, 1) == ["CAMPAIGN_CAP"]


def test_zero_limits_never_show() -> None:
    assert statuses(Device([campaign_json(limit={"count": 0})]), 1) == ["CAMPAIGN_CAP"]
    assert statuses(Device([campaign_json(limit={"limit": 0, "limitType": "session"})]), 1) == [
        "SESSION_CAP"
    ]


def test_session_cap_reported_before_campaign_cap() -> None:
    device = Device([campaign_json(limit={"limit": 1, "limitType": "session", "count": 1})])
    assert statuses(device, 2) == ["SUCCESS", "SESSION_CAP"]
    device.new_session()
    assert statuses(device, 1) == ["CAMPAIGN_CAP"]


def test_only_success_consumes_limits() -> None:
    # c_high wins every time; c_low's LOWER_PRIORITY decisions consume none of its limit
    device = Device(
        [
            campaign_json("c_high", priority=2, limit={"count": 2}),
            campaign_json("c_low", priority=1, limit={"count": 1}),
        ]
    )
    assert device.statuses() == [("c_high", "SUCCESS"), ("c_low", "LOWER_PRIORITY")]
    assert device.statuses() == [("c_high", "SUCCESS"), ("c_low", "LOWER_PRIORITY")]
    assert device.statuses() == [("c_high", "CAMPAIGN_CAP"), ("c_low", "SUCCESS")]
    assert device.statuses() == [("c_high", "CAMPAIGN_CAP"), ("c_low", "CAMPAIGN_CAP")]


def test_campaign_resolved_and_shown_consume_nothing() -> None:
    device = Device([campaign_json(limit={"count": 1})])
    device.emit("CampaignShown", {"source": "X", "campaignId": "c1"}, event_type="system")
    device.emit(
        "CampaignResolved", {"campaignId": "c1", "result": "Completed"}, event_type="system"
    )
    assert statuses(device, 1) == ["SUCCESS"]


def test_project_per_session_cap_across_campaigns() -> None:
    device = Device(
        [campaign_json("a", trigger="A"), campaign_json("b", trigger="B")],
        project={"frequencyCapping": {"perSession": 2}},
    )
    assert device.statuses("A") == [("a", "SUCCESS")]
    assert device.statuses("B") == [("b", "SUCCESS")]
    assert device.statuses("A") == [("a", "SESSION_CAP")]
    device.new_session()
    assert device.statuses("B") == [("b", "SUCCESS")]


def test_project_per_day_cap_uses_local_calendar_day() -> None:
    # Warsaw is UTC+1 in January: local midnight is 23:00 UTC.
    profile = DeviceProfile("d", timezone="Europe/Warsaw")
    start = 1_767_654_000_000 - 2 * MIN  # 2026-01-05T22:58Z = 23:58 local
    device = Device(
        [campaign_json("a", trigger="A")],
        profile=profile,
        now=start,
        project={"frequencyCapping": {"perDay": 1}},
    )
    assert device.statuses("A") == [("a", "SUCCESS")]
    assert device.statuses("A") == [("a", "DAILY_CAP")]
    device.advance(2 * MIN)  # 00:00:02 local, still 2026-01-05 in UTC
    assert device.statuses("A") == [("a", "SUCCESS")]


def test_project_per_day_cap_in_utc_when_timezone_unknown() -> None:
    start = 1_767_654_000_000 - 2 * MIN
    device = Device(
        [campaign_json("a", trigger="A")], now=start, project={"frequencyCapping": {"perDay": 1}}
    )
    assert device.statuses("A") == [("a", "SUCCESS")]
    device.advance(2 * MIN)
    assert device.statuses("A") == [("a", "DAILY_CAP")]  # same UTC day
    device.advance(HOUR)
    assert device.statuses("A") == [("a", "SUCCESS")]  # next UTC day
    invalid = Device(
        [campaign_json("a", trigger="A")],
        now=start,
        profile=DeviceProfile("d", timezone="Not/AZone"),
        project={"frequencyCapping": {"perDay": 1}},
    )
    invalid.statuses("A")
    invalid.advance(2 * MIN)
    assert invalid.statuses("A") == [("a", "DAILY_CAP")]


def test_project_session_cap_checked_before_daily_cap() -> None:
    device = Device(
        [campaign_json("a", trigger="A")],
        project={"frequencyCapping": {"perSession": 1, "perDay": 1}},
    )
    device.statuses("A")
    assert device.statuses("A") == [("a", "SESSION_CAP")]
    device.new_session()
    assert device.statuses("A") == [("a", "DAILY_CAP")]


def test_campaign_limits_take_precedence_over_project_caps() -> None:
    device = Device(
        [campaign_json("a", trigger="A", limit={"count": 1})],
        project={"frequencyCapping": {"perSession": 1}},
    )
    device.statuses("A")
    assert device.statuses("A") == [("a", "CAMPAIGN_CAP")]
