"""What changed in a campaign between the moment its editor was opened and a save.

The editor carries the version it was opened at (and the campaign as it was then). A save over a
newer version is refused, and the editor lists what the other edit changed in the same labels it
uses for errors, so the product manager can decide whether to keep their own version.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import orjson

from tidings.server.dashboard import wording

MAX_CHANGES: Final = 40
"""Changes listed at most; the rest are counted."""
MAX_OPENED_BYTES: Final = 512 * 1024
"""A larger "as opened" copy posted back is not read (the conflict is still reported)."""
IGNORED: Final = frozenset({"id", "createdAt"})


@dataclass(frozen=True, slots=True)
class Change:
    """One value that differs: where (the editor's label) and both texts (``—``: not set)."""

    path: str
    label: str
    before: str
    after: str


def _leaves(value: Any, path: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if not path and key in IGNORED:
                continue
            _leaves(item, f"{path}.{key}" if path else key, out)
    elif isinstance(value, list) and any(isinstance(v, dict | list) for v in value):
        for i, item in enumerate(value):
            _leaves(item, f"{path}[{i}]", out)
    else:
        out[path] = value


def _text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        text = value
    elif isinstance(value, list):
        text = ", ".join(str(v) for v in value)
    else:
        text = orjson.dumps(value).decode()
    return text if len(text) <= 80 else text[:79] + "…"


def _shown(path: str, value: Any) -> str:
    if path == "state" and isinstance(value, str):
        return wording.STATE_LABELS.get(value, value)
    return _text(value)


def read_opened(text: str) -> dict[str, Any] | None:
    """The "as opened" copy the editor posted back, or ``None`` when it is missing or unusable."""
    if not text or len(text) > MAX_OPENED_BYTES:
        return None
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def changes(opened: dict[str, Any], current: dict[str, Any]) -> tuple[list[Change], int]:
    """The values that differ (at most :data:`MAX_CHANGES`) and how many there are in all."""
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    _leaves(opened, "", before)
    _leaves(current, "", after)
    differing = [p for p in dict.fromkeys([*before, *after]) if before.get(p) != after.get(p)]
    listed = [
        Change(p, wording.label(p), _shown(p, before.get(p)), _shown(p, after.get(p)))
        for p in differing[:MAX_CHANGES]
    ]
    return listed, len(differing)


def opened_json(body: Any) -> str:
    """The copy of the campaign the editor keeps in a hidden field."""
    return orjson.dumps(body, option=orjson.OPT_SORT_KEYS).decode()
