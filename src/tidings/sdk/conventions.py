"""Naming conventions: PascalCase event names, snake_case property keys (debug hints only).

docs/spec/events.md makes these recommendations, not rules; with ``log_level="debug"`` the client
says when a call departs from them, so a team notices before the names reach dashboards.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

log = logging.getLogger("tidings.sdk")

PASCAL_CASE = re.compile(r"^[A-Z][A-Za-z0-9]*$")
SNAKE_CASE = re.compile(r"^[a-z][a-z0-9_]*$")


def convention_hints(name: str, properties: Mapping[str, Any] | None) -> list[str]:
    hints = []
    if not PASCAL_CASE.match(name):
        hints.append(f"event name {name!r} is not PascalCase (e.g. PurchaseCompleted)")
    for key in properties or {}:
        if isinstance(key, str) and not SNAKE_CASE.match(key):
            hints.append(f"property key {key!r} is not snake_case (e.g. order_total)")
    return hints


def check_conventions(name: str, properties: Mapping[str, Any] | None) -> None:
    for hint in convention_hints(name, properties):
        log.debug("event: %s", hint)
