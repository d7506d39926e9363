"""``preview``: the requests one message produces, in the public preview format, sending nothing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tidings.core.errors import InvalidConfig, InvalidInput
from tidings.destinations.amplitude.actions import PRESETS, Subscription
from tidings.destinations.amplitude.settings import Settings


def preview(
    message: Mapping[str, Any],
    action: str | None = None,
    *,
    settings: Mapping[str, Any] | None = None,
    mapping: Mapping[str, Any] | None = None,
    preset: str | None = None,
    now_ms: int | None = None,
) -> list[dict[str, Any]]:
    """Build (not send) the requests of ``action`` (or ``preset``) for ``message``.

    ``mapping`` merges over the action's (or preset's) defaults field by field. The trigger is not
    applied: a preview shows what the action would send for this message.
    """
    if not isinstance(message, Mapping):
        raise InvalidInput("message", "must be a JSON object")
    if preset is not None:
        if preset not in PRESETS:
            raise InvalidConfig("preset", f"unknown preset {preset!r}; known: {', '.join(PRESETS)}")
        trigger, preset_action, preset_mapping = PRESETS[preset]
        if action is not None and action != preset_action:
            raise InvalidConfig(
                "action", f"preset {preset!r} uses {preset_action!r}, not {action!r}"
            )
        merged = {**preset_mapping, **(mapping or {})}
        sub = Subscription(name=preset, action=preset_action, trigger=trigger, mapping=merged)
    else:
        if action is None:
            raise InvalidConfig("action", "give an action or a preset")
        sub = Subscription(name=action, action=action, mapping=dict(mapping or {}))
    built = sub.build(message, Settings.from_json(settings), now_ms)
    return [r.to_preview() for r in built]
