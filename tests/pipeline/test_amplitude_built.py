"""The consumer's parsed destination is reused while the stored body is unchanged."""

from __future__ import annotations

from typing import Any

from tidings.destinations.amplitude import Destination
from tidings.pipeline.amplitude import built_destination
from tidings.pipeline.instances import Instance


def _instance(body: dict[str, Any], updated_at: int = 1) -> Instance:
    return Instance("built-test", "amplitude", "n", ("app",), True, None, body, 1, updated_at)


def test_the_same_body_is_parsed_once_and_a_changed_body_again() -> None:
    body: dict[str, Any] = {"settings": {"apiKey": "k"}}
    first = built_destination(_instance(body))
    assert isinstance(first, Destination)
    assert built_destination(_instance(dict(body), updated_at=2)) is first
    changed = {
        **body,
        "subscriptions": [{"name": "only", "action": "logEventV2", "trigger": 'type = "track"'}],
    }
    second = built_destination(_instance(changed, updated_at=2))
    assert second is not first
    assert isinstance(second, Destination)
    assert [s.name for s in second.subscriptions] == ["only"]
