"""Small helpers shared by the SDK tests."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import orjson

from tidings.core.events import EventRecord
from tidings.sdk import Tidings
from tidings.sdk.outbox import Outbox
from tidings.sdk.store import DeviceStore

MakeClient = Callable[..., Tidings]
"""The ``make_client`` fixture: ``make_client(server=None, **Tidings kwargs)``."""


def settled(store: DeviceStore) -> Outbox:
    """The store's outbox with its journaled rows moved into SQLite, as the client does before an
    upload."""
    store.outbox.settle()
    return store.outbox


def manifest(*campaigns: dict[str, Any], settings: dict[str, Any] | None = None) -> str:
    """A ``default_config`` JSON string holding active campaigns."""
    full = []
    for i, campaign in enumerate(campaigns):
        body = {"id": f"c{i + 1}", "state": "Active", "createdAt": i, **campaign}
        full.append(body)
    return orjson.dumps(
        {"version": "local", "campaigns": full, "settings": settings or {}}
    ).decode()


def deep_link(
    name: str, trigger: str, url: str, *, triggering_limit: bool = False, **extra: Any
) -> dict[str, Any]:
    """A DeepLink campaign; ``triggering_limit`` caps it at one show per device."""
    triggering: dict[str, Any] = {"event": {"name": trigger, "type": "custom"}}
    if triggering_limit:
        triggering["limit"] = {"limit": 1, "limitType": "device"}
    return {
        "name": name,
        "type": "DeepLink",
        "triggering": triggering,
        "content": {"url": url},
        **extra,
    }


class SystemEvents:
    """Collects system events from the listener and lets a test wait for one by name."""

    def __init__(self, client: Tidings) -> None:
        self.events: list[EventRecord] = []
        self.threads: set[str] = set()
        self._cond = threading.Condition()
        client.set_system_events_listener(self._on_event)

    def _on_event(self, event: EventRecord) -> None:
        with self._cond:
            self.events.append(event)
            self.threads.add(threading.current_thread().name)
            self._cond.notify_all()

    def wait_for(self, name: str, count: int = 1, timeout: float = 10.0) -> list[EventRecord]:
        with self._cond:
            self._cond.wait_for(lambda: len(self.named(name)) >= count, timeout)
            found = self.named(name)
        assert len(found) >= count, f"{name} x{count} not seen; got {[e.name for e in self.events]}"
        return found

    def named(self, name: str) -> list[EventRecord]:
        return [e for e in self.events if e.name == name]
