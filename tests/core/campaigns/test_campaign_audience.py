"""Audience estimates judge profiles with the engine's own targeting rules."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tidings.core.campaigns import KnownDevice, audience_rules, estimate
from tidings.core.errors import InvalidCampaign

NOW = 1_800_000_000_000
DAY = 86_400_000

_devices = st.lists(
    st.tuples(
        st.sampled_from(["US", "PL", "de", None]),
        st.sampled_from(["1.9", "1.10", "2.0", None]),
        st.sampled_from(["pro", "free", None]),
        st.integers(0, 60),
    ),
    max_size=40,
)


def _device(
    i: int, country: str | None, version: str | None, tier: str | None, age: int
) -> KnownDevice:
    return KnownDevice(
        f"d{i}",
        last_seen_ms=NOW - age * DAY,
        country=country,
        app_version=version,
        custom_properties={} if tier is None else {"tier": tier},
    )


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("."))


@given(_devices)
def test_the_count_is_what_the_rules_say_about_each_device(devices: list[tuple]) -> None:
    rules = audience_rules(
        [
            {"country": {"type": "include", "values": ["US", "DE"]}},
            {"appVersion": {"compareType": "greaterOrEqual", "value": "1.10"}},
            {
                "customProperty": {
                    "key": "tier",
                    "valueType": "string",
                    "compareType": "notEqual",
                    "value": "free",
                }
            },
        ]
    )
    known = [_device(i, *d) for i, d in enumerate(devices)]
    found = estimate(rules, known, profiles=len(known), now_ms=NOW)
    # An independent reading of the same three rules.
    wanted = [
        (c, v, t, a)
        for c, v, t, a in devices
        if c is not None
        and c.upper() in ("US", "DE")
        and v is not None
        and _version(v) >= (1, 10)
        and t != "free"
    ]
    assert found.devices == len(wanted)
    assert found.recent == sum(1 for *_, a in wanted if a <= 30)
    assert found.exact and found.sampled == len(known)


def test_a_sample_is_scaled_to_all_profiles() -> None:
    rules = audience_rules([{"country": {"type": "include", "values": ["US"]}}])
    sample = [_device(i, "US" if i % 4 == 0 else "PL", None, None, 1) for i in range(100)]
    found = estimate(rules, sample, profiles=10_000, now_ms=NOW)
    assert (found.devices, found.recent, found.sampled, found.profiles) == (2500, 2500, 100, 10_000)
    assert not found.exact


def test_event_history_rules_are_left_out_and_named() -> None:
    rules = audience_rules(
        [
            {"country": {"type": "include", "values": ["US"]}},
            {
                "eventCount": {
                    "event": {"name": "Buy", "type": "custom", "params": []},
                    "compareType": "greaterOrEqual",
                    "value": 3,
                }
            },
            {"cohort": {"type": "include", "values": ["vip"]}},
        ]
    )
    assert rules.approximate_rules == ("targeting[1]",)
    assert rules.cohort_ids == frozenset({"vip"})
    vip = KnownDevice("a", NOW, country="US", cohorts=frozenset({"vip"}))
    plain = KnownDevice("b", NOW, country="US")
    found = estimate(rules, [vip, plain], profiles=2, now_ms=NOW)
    assert found.devices == 1 and not found.exact
    assert found.to_json()["approximateRules"] == ["targeting[1]"]


def test_bad_rules_are_refused_as_the_validator_refuses_them() -> None:
    with pytest.raises(InvalidCampaign) as caught:
        audience_rules([{"country": {"type": "sometimes", "values": []}}])
    assert caught.value.field.startswith("targeting[0].country")
