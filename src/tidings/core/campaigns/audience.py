"""How many devices a campaign's Who matches, judged on last-known device profiles.

The rules are the engine's own (:mod:`tidings.core.campaigns.targeting`): every profile is put in
an :class:`EvaluationContext` and each targeting slot is asked whether it holds, so an estimate
can never disagree with what a device would decide about the same attributes.

Event-history rules (``eventCount``, ``eventDate``) need a device's event history, which only the
device keeps; they are left out of the count, and the estimate says so (``approximate_rules``).

Work is bounded: the caller passes a uniform sample of profiles (the store's ``sample_key``
order) and how many profiles there are in all; a sample smaller than the whole is scaled up.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from tidings.core.campaigns.context import EvaluationContext
from tidings.core.campaigns.state import EngineState
from tidings.core.campaigns.targeting import (
    CustomPropertySlot,
    EventCountSlot,
    EventDateSlot,
    ListSlot,
    Slot,
    parse_targeting,
)
from tidings.core.profile import DeviceProfile

MAX_VERDICTS: Final = 100_000
"""Distinct device keys remembered at most during one estimate."""
RECENT_DAYS: Final = 30
""""Seen recently" means a profile updated within this many days."""


@dataclass(frozen=True, slots=True)
class AudienceRules:
    """A Who split into what a profile can answer and what it cannot."""

    known: tuple[Slot, ...]
    approximate_rules: tuple[str, ...]
    """Paths (``targeting[2]``) of the event-history rules left out of the count."""
    cohort_ids: frozenset[str]
    """Cohorts the rules name (a profile's membership of these is needed)."""
    property_keys: tuple[str, ...]
    """Custom properties the rules read."""


def audience_rules(targeting: object) -> AudienceRules:
    """Parse a campaign's ``targeting``; raises :class:`InvalidCampaign` like the validator."""
    slots = parse_targeting(targeting)
    known: list[Slot] = []
    history: list[str] = []
    cohorts: set[str] = set()
    keys: list[str] = []
    for i, slot in enumerate(slots):
        if isinstance(slot, EventCountSlot | EventDateSlot):
            history.append(f"targeting[{i}]")
            continue
        if isinstance(slot, ListSlot) and slot.slot == "cohort":
            cohorts.update(slot.values)
        if isinstance(slot, CustomPropertySlot):
            keys.append(slot.key)
        known.append(slot)
    return AudienceRules(
        tuple(known), tuple(history), frozenset(cohorts), tuple(dict.fromkeys(keys))
    )


class ProfileView(Protocol):
    """What an estimate reads of one last-known profile (the store's records have it all)."""

    @property
    def device_id(self) -> str: ...
    @property
    def app_id(self) -> str: ...
    @property
    def platform(self) -> str | None: ...
    @property
    def os_version(self) -> str | None: ...
    @property
    def app_version(self) -> str | None: ...
    @property
    def app_install_version(self) -> str | None: ...
    @property
    def country(self) -> str | None: ...
    @property
    def install_time(self) -> int | None: ...
    @property
    def user_id(self) -> str | None: ...
    @property
    def custom_properties(self) -> Mapping[str, Any]: ...
    @property
    def cohorts(self) -> frozenset[str]: ...
    @property
    def last_seen_ms(self) -> int: ...


@dataclass(frozen=True, slots=True)
class KnownDevice:
    """A plain :class:`ProfileView` (what the server last heard about one device)."""

    device_id: str
    last_seen_ms: int
    app_id: str = ""
    platform: str | None = None
    os_version: str | None = None
    app_version: str | None = None
    app_install_version: str | None = None
    country: str | None = None
    install_time: int | None = None
    user_id: str | None = None
    custom_properties: Mapping[str, Any] = field(default_factory=dict)
    cohorts: frozenset[str] = frozenset()


_NO_HISTORY: Final = EngineState()
"""Passed to slots that never read it (history slots are not in ``AudienceRules.known``)."""


def matches(rules: AudienceRules, device: ProfileView, now_ms: int) -> bool:
    """Whether every rule a profile can answer holds for the device (the engine's verdict)."""
    ctx = EvaluationContext(
        profile=DeviceProfile(
            device_id=device.device_id,
            platform=device.platform,
            os_version=device.os_version,
            app_version=device.app_version,
            app_install_version=device.app_install_version,
            country=device.country,
            install_time=device.install_time,
            application=device.app_id,
        ),
        user_id=device.user_id,
        custom_properties=device.custom_properties,
        cohorts=device.cohorts,
    )
    return all(slot.holds(ctx, _NO_HISTORY, now_ms) for slot in rules.known)


def _key(rules: AudienceRules, device: ProfileView) -> tuple[Any, ...] | None:
    """Everything the rules can read of a device: two devices with one key match alike.

    ``None`` when a property value the rules read cannot be a key (a list or an object)."""
    props = device.custom_properties
    values = tuple(props.get(k) for k in rules.property_keys)
    for value in values:
        if isinstance(value, list | dict):
            return None
    return (
        device.country,
        device.app_version,
        device.os_version,
        device.app_install_version,
        device.install_time,
        device.app_id,
        device.cohorts,
        values,
    )


@dataclass(frozen=True, slots=True)
class AudienceEstimate:
    """About ``devices`` devices match (``recent`` of them seen in the last 30 days)."""

    devices: int
    recent: int
    profiles: int
    sampled: int
    approximate_rules: tuple[str, ...]

    @property
    def exact(self) -> bool:
        """Every profile was judged and every rule could be."""
        return self.sampled >= self.profiles and not self.approximate_rules

    def to_json(self) -> dict[str, Any]:
        return {
            "devices": self.devices,
            "seenLast30Days": self.recent,
            "profiles": self.profiles,
            "sampled": self.sampled,
            "exact": self.exact,
            "approximateRules": list(self.approximate_rules),
        }


def estimate(
    rules: AudienceRules, sample: Iterable[ProfileView], *, profiles: int, now_ms: int
) -> AudienceEstimate:
    """Count the sample's matches and scale them to ``profiles`` (the app's profile count).

    Devices alike in everything the rules read are judged once (most of a sample shares a few
    countries and versions), so the cost per device is mostly building its key."""
    recent_since = now_ms - RECENT_DAYS * 86_400_000
    sampled = matched = recent = 0
    verdicts: dict[tuple[Any, ...], bool] = {}
    for device in sample:
        sampled += 1
        key = _key(rules, device)
        if key is None:
            hit = matches(rules, device, now_ms)
        else:
            known = verdicts.get(key)
            if known is None:
                known = verdicts[key] = matches(rules, device, now_ms)
                if len(verdicts) > MAX_VERDICTS:
                    verdicts.clear()
            hit = known
        if hit:
            matched += 1
            recent += device.last_seen_ms >= recent_since
    if sampled and sampled < profiles:
        scale = profiles / sampled
        matched, recent = round(matched * scale), round(recent * scale)
    return AudienceEstimate(matched, recent, profiles, sampled, rules.approximate_rules)
