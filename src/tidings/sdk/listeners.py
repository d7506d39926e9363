"""Listener registries with tokens, and the buffer of system events nobody has heard yet.

Listeners are called on the worker thread only. A system-events listener set after events were
emitted receives the buffered ones first (iOS behaviour: events of start-up are not lost to a
listener registered a moment later); the buffer is bounded so an app that never listens does not
grow memory.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from tidings.core.events import EventRecord

F = TypeVar("F", bound=Callable[..., Any])

MAX_UNHEARD = 1_000


class Registry(Generic[F]):
    """Callables under integer tokens, called in registration order."""

    def __init__(self) -> None:
        self._items: dict[int, F] = {}
        self._next = 1

    def add(self, fn: F) -> int:
        token = self._next
        self._next += 1
        self._items[token] = fn
        return token

    def remove(self, token: int) -> bool:
        return self._items.pop(token, None) is not None

    def clear(self) -> None:
        self._items.clear()

    def items(self) -> list[F]:
        return list(self._items.values())

    def __bool__(self) -> bool:
        return bool(self._items)

    def __len__(self) -> int:
        return len(self._items)


class UnheardEvents:
    """System events emitted while no system-events listener was set (newest kept)."""

    def __init__(self, maxlen: int = MAX_UNHEARD) -> None:
        self._events: deque[EventRecord] = deque(maxlen=maxlen)

    def add(self, event: EventRecord) -> None:
        self._events.append(event)

    def drain(self) -> list[EventRecord]:
        out = list(self._events)
        self._events.clear()
        return out
