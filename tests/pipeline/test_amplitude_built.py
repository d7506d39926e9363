"""The consumer's parsed destination is reused while the stored body is unchanged."""

from __future__ import annotations

from typing import Any

from tidings.destinations.amplitude import Destination
from tidings.destinations.amplitude.kind import AmplitudeDestination
from tidings.pipeline.delivery import Deliveries, Instance


def _instance(body: dict[str, Any], updated_at: int = 1) -> Instance:
    return Instance("built-test", "amplitude", "n", ("app",), True, None, body, 1, updated_at)


def test_the_same_body_is_parsed_once_and_a_changed_body_again() -> None:
    deliveries = Deliveries()
    body: dict[str, Any] = {"settings": {"apiKey": "k"}}
    first = deliveries.built(_instance(body))
    assert isinstance(first, AmplitudeDestination) and isinstance(first.mapper, Destination)
    assert deliveries.built(_instance(dict(body), updated_at=2)) is first
    changed = {
        **body,
        "subscriptions": [{"name": "only", "action": "logEventV2", "trigger": 'type = "track"'}],
    }
    second = deliveries.built(_instance(changed, updated_at=2))
    assert second is not first
    assert isinstance(second, AmplitudeDestination) and isinstance(second.mapper, Destination)
    assert [s.name for s in second.mapper.subscriptions] == ["only"]
