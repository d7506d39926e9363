"""Fork safety: a forked child gets a fresh lock, connections and worker for every live client.

Threads do not survive ``fork()`` and a lock held by one of them at that instant would stay held
forever in the child; SQLite connections and HTTP connection pools must not be shared across
processes either. ``before`` takes every client's lock, so the child starts from a consistent
state (no half-made commit); the child then replaces what cannot cross and restarts the worker.
"""

from __future__ import annotations

import os
import weakref
from typing import Protocol


class Forkable(Protocol):
    def _before_fork(self) -> None: ...
    def _after_fork_parent(self) -> None: ...
    def _after_fork_child(self) -> None: ...


_CLIENTS: weakref.WeakSet[Forkable] = weakref.WeakSet()


def track_client(client: Forkable) -> None:
    _CLIENTS.add(client)


def forget_client(client: Forkable) -> None:
    _CLIENTS.discard(client)


def _before() -> None:
    for client in list(_CLIENTS):
        client._before_fork()


def _after_in_parent() -> None:
    for client in list(_CLIENTS):
        client._after_fork_parent()


def _after_in_child() -> None:
    for client in list(_CLIENTS):
        client._after_fork_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=_before, after_in_parent=_after_in_parent, after_in_child=_after_in_child
    )
