"""Repeat rules: which occurrences of the trigger may fire (docs/spec/campaigns.md, "Repeat")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from tidings.core.campaigns import reader as r

REPEAT_TYPES: Final = ("every", "interval")
REPEAT_ENTITIES: Final = ("event", "session")
MAX_REPEAT_DEPTH: Final = 8
"""How deep ``subRepeat`` may nest: a bound on work and recursion for any document."""


@dataclass(frozen=True, slots=True)
class Repeat:
    """``every``: n is a multiple of one of ``values``; ``interval``: n is one of ``values``.

    ``session_scoped`` is true for an ``event`` rule nested under a ``session`` rule: its n is the
    occurrence count within the current session instead of the lifetime count.
    """

    repeat_type: str
    entity: str
    values: tuple[int, ...]
    sub: Repeat | None
    session_scoped: bool = False

    def holds(self, lifetime_count: int, session_count: int, session_counter: int) -> bool:
        if self.entity == "session":
            n = session_counter
        else:
            n = session_count if self.session_scoped else lifetime_count
        if self.repeat_type == "every":
            ok = n >= 1 and any(n % k == 0 for k in self.values)
        else:
            ok = n in self.values
        if not ok:
            return False
        return self.sub is None or self.sub.holds(lifetime_count, session_count, session_counter)

    @property
    def is_default(self) -> bool:
        """``every [1]`` on ``event`` with nothing nested: every occurrence fires."""
        return (
            self.repeat_type == "every"
            and self.entity == "event"
            and self.values == (1,)
            and self.sub is None
        )


DEFAULT_REPEAT: Final = Repeat("every", "event", (1,), None)


def parse_repeat(raw: object, path: str, *, in_session: bool = False, depth: int = 1) -> Repeat:
    item = r.obj(raw, path)
    repeat_type = r.enum(item, "repeatType", path, REPEAT_TYPES)
    entity = r.enum(item, "repeatEntity", path, REPEAT_ENTITIES)
    values_path = r.join(path, "repeatValue")
    values_raw = item.get("repeatValue")
    if values_raw is None:
        r.fail(values_path, "is required")
    if not isinstance(values_raw, list):
        r.fail(values_path, "must be an array")
    if not values_raw:
        r.fail(values_path, "must be a non-empty array")
    values = tuple(r.int_value(v, f"{values_path}[{i}]", 1) for i, v in enumerate(values_raw))
    scoped = in_session or entity == "session"
    sub_raw = item.get("subRepeat")
    sub = None
    if sub_raw is not None:
        sub_path = r.join(path, "subRepeat")
        if depth >= MAX_REPEAT_DEPTH:
            r.fail(sub_path, f"may nest at most {MAX_REPEAT_DEPTH} levels deep")
        sub = parse_repeat(sub_raw, sub_path, in_session=scoped, depth=depth + 1)
    return Repeat(repeat_type, entity, values, sub, session_scoped=in_session)
