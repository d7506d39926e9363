"""Schedule windows and quiet time in the device's time zone."""

from __future__ import annotations

from campaign_builders import HOUR, MIN, SEC, T0, Device, campaign_json

from tidings.core.campaigns.schedule import QuietTime, local_minute, zone
from tidings.core.profile import DeviceProfile

WARSAW = DeviceProfile("d", timezone="Europe/Warsaw")
TOKYO = DeviceProfile("d", timezone="Asia/Tokyo")


def test_before_start_no_decision_at_all() -> None:
    device = Device([campaign_json(schedule={"startTime": T0 + 10 * SEC})])
    assert device.emit("Purchase") == []
    device.advance(10 * SEC)
    assert device.fired()


def test_after_end_expired_and_end_is_exclusive() -> None:
    device = Device([campaign_json(schedule={"endTime": T0 + 2 * SEC})])
    assert device.statuses() == [("c1", "SUCCESS")]  # at T0+1s
    assert device.statuses() == [("c1", "EXPIRED")]  # at T0+2s == endTime


def test_start_is_inclusive() -> None:
    device = Device([campaign_json(schedule={"startTime": T0 + SEC, "endTime": T0 + HOUR})])
    assert device.fired()


def test_quiet_time_contains_simple_and_across_midnight() -> None:
    day = QuietTime(9 * 60, 17 * 60)
    assert day.contains(9 * 60) and day.contains(16 * 60 + 59)
    assert not day.contains(17 * 60) and not day.contains(8 * 60 + 59)
    night = QuietTime(22 * 60, 7 * 60)
    assert night.contains(22 * 60) and night.contains(23 * 60 + 59) and night.contains(0)
    assert night.contains(6 * 60 + 59)
    assert not night.contains(7 * 60) and not night.contains(21 * 60 + 59)


def test_quiet_time_uses_device_zone() -> None:
    # T0 is 10:00 UTC = 11:00 in Warsaw (UTC+1) = 19:00 in Tokyo (UTC+9)
    quiet = {"start": "18:00", "end": "08:00"}
    tokyo = Device([campaign_json(quietTime=quiet)], profile=TOKYO)
    warsaw = Device([campaign_json(quietTime=quiet)], profile=WARSAW)
    assert tokyo.statuses() == [("c1", "QUIET_TIME")]
    assert warsaw.statuses() == [("c1", "SUCCESS")]


def test_quiet_time_across_midnight_at_local_edges() -> None:
    quiet = {"start": "22:00", "end": "07:00"}
    # 20:59:59 UTC = 21:59:59 Warsaw: just before the window
    start = T0 + 11 * HOUR - 2 * SEC
    device = Device([campaign_json(quietTime=quiet)], profile=WARSAW, now=start)
    assert device.statuses() == [("c1", "SUCCESS")]
    assert device.statuses() == [("c1", "QUIET_TIME")]  # 22:00:00 local
    device.advance(9 * HOUR - 2 * SEC)  # 06:59:59 local the next day
    assert device.statuses() == [("c1", "QUIET_TIME")]
    assert device.statuses() == [("c1", "SUCCESS")]  # 07:00:00 local


def test_quiet_time_follows_daylight_saving() -> None:
    # 2026-07-01T20:30Z is 22:30 in Warsaw (UTC+2 in summer) but 21:30 in winter time
    summer = 1_782_937_800_000 - SEC
    device = Device(
        [campaign_json(quietTime={"start": "22:00", "end": "23:00"})], profile=WARSAW, now=summer
    )
    assert device.statuses() == [("c1", "QUIET_TIME")]


def test_quiet_time_skipped_when_timezone_unknown_or_invalid() -> None:
    quiet = {"start": "00:00", "end": "23:59"}
    assert Device([campaign_json(quietTime=quiet)]).fired()
    invalid = DeviceProfile("d", timezone="Mars/Olympus")
    assert Device([campaign_json(quietTime=quiet)], profile=invalid).fired()


def test_expired_takes_precedence_over_quiet_time() -> None:
    device = Device(
        [campaign_json(schedule={"endTime": T0}, quietTime={"start": "00:00", "end": "23:59"})],
        profile=WARSAW,
    )
    assert device.statuses() == [("c1", "EXPIRED")]


def test_local_minute() -> None:
    tz = zone("Asia/Kolkata")
    assert tz is not None
    assert local_minute(T0, tz) == 15 * 60 + 30
    assert zone(None) is None and zone("") is None and zone("../etc/passwd") is None
    assert local_minute(T0 + MIN, tz) == 15 * 60 + 31
