"""What the engine knows about the device at the moment it judges an event."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tidings.core.profile import DeviceProfile


@dataclass(frozen=True, slots=True)
class EvaluationContext:
    """The device side of targeting, holdout and the session rules.

    ``session_counter`` is the number of sessions this device has started (1 during the first);
    ``foreground`` false means the app is backgrounded: events are counted but never trigger.
    """

    profile: DeviceProfile
    user_id: str | None = None
    custom_properties: Mapping[str, Any] = field(default_factory=dict)
    session_id: str | None = None
    session_counter: int = 1
    cohorts: frozenset[str] = frozenset()
    foreground: bool = True

    @property
    def user_key(self) -> str:
        """The identity holdout and treatments hash: the user id when set, else the device id."""
        return self.user_id if self.user_id else self.profile.device_id
