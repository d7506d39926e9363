"""Holdout and treatment assignment, checked against ``mmh3`` directly."""

from __future__ import annotations

import mmh3
from campaign_builders import Device, campaign_json

from tidings.core.campaigns import parse_campaign
from tidings.core.campaigns.buckets import holdout_bucket, in_holdout, murmur3_32, pick_treatment
from tidings.core.profile import DeviceProfile


def reference_bucket(text: str, modulo: int) -> int:
    return mmh3.hash(text.encode("utf-8"), 0, signed=False) % modulo


def test_murmur3_is_x86_32_seed_0_unsigned() -> None:
    assert murmur3_32("") == 0
    assert murmur3_32("hello") == 613153351
    assert murmur3_32("c/ü") == mmh3.hash("c/ü".encode(), 0) & 0xFFFFFFFF


def test_holdout_bucket_matches_reference() -> None:
    for user in ("u-1", "device-9", "żółw", "x" * 100):
        assert holdout_bucket("c_abc", user) == reference_bucket(f"c_abc/{user}", 10000)


def test_holdout_threshold_is_percent_times_hundred() -> None:
    for user in (f"u{i}" for i in range(200)):
        bucket = reference_bucket(f"c1/{user}", 10000)
        assert in_holdout("c1", user, 12.5) is (bucket < 1250)
        assert not in_holdout("c1", user, 0)
        assert in_holdout("c1", user, 100)


def test_holdout_decision_uses_user_id_then_device_id() -> None:
    users = [f"u{i}" for i in range(400)]
    held = next(u for u in users if reference_bucket(f"c1/{u}", 10000) < 3000)
    free = next(u for u in users if reference_bucket(f"c1/{u}", 10000) >= 3000)
    device = Device([campaign_json(holdoutPercent=30)], user_id=held)
    assert device.statuses() == [("c1", "HOLDOUT")]
    device.set(user_id=free)
    assert device.statuses() == [("c1", "SUCCESS")]
    anon = Device([campaign_json(holdoutPercent=30)], profile=DeviceProfile(held))
    assert anon.statuses() == [("c1", "HOLDOUT")]


def test_treatment_walks_cumulative_size_percent() -> None:
    campaign = parse_campaign(
        campaign_json(
            treatments=[
                {"id": "A", "sizePercent": 20},
                {"id": "B", "sizePercent": 30},
                {"id": "C", "sizePercent": 50, "content": {"url": "app://c"}},
            ]
        )
    )
    for user in (f"user-{i}" for i in range(300)):
        bucket = reference_bucket(f"c1/treatment/{user}", 100)
        expected = "A" if bucket < 20 else "B" if bucket < 50 else "C"
        picked = pick_treatment("c1", user, campaign.treatments)
        assert picked is not None and picked.id == expected


def test_decision_carries_treatment_and_its_content() -> None:
    treatments = [
        {"id": "A", "sizePercent": 50},
        {"id": "B", "sizePercent": 50, "content": {"url": "app://b"}},
    ]
    users = [f"u{i}" for i in range(100)]
    in_a = next(u for u in users if reference_bucket(f"c1/treatment/{u}", 100) < 50)
    in_b = next(u for u in users if reference_bucket(f"c1/treatment/{u}", 100) >= 50)
    device = Device([campaign_json(treatments=treatments)], user_id=in_a)
    decision = device.emit("Purchase")[0]
    assert (decision.treatment_id, decision.content) == ("A", {"url": "app://c1"})
    device.set(user_id=in_b)
    decision = device.emit("Purchase")[0]
    assert (decision.treatment_id, decision.content) == ("B", {"url": "app://b"})
    assert decision.to_json()["treatmentId"] == "B"


def test_no_treatments_means_treatment_zero() -> None:
    decision = Device([campaign_json()]).emit("Purchase")[0]
    assert decision.treatment_id == "0"


def test_every_decision_names_the_treatment_even_holdout() -> None:
    device = Device(
        [campaign_json(holdoutPercent=100, treatments=[{"id": "A", "sizePercent": 100}])]
    )
    decision = device.emit("Purchase")[0]
    assert (decision.status, decision.treatment_id) == ("HOLDOUT", "A")
