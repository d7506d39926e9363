"""Each app's ``awsAccountId``: its project's setting, else the project id, read from the store.

Campaign records carry the account they were sent from (docs/spec/stream.md). The stream is
built from log rows, which name only the app, so the loops that build records ask this small
cache first: one app and one project read per app, again at most every ``ttl_seconds`` (a
changed setting reaches the stream within that time).

This layer knows nothing of the storage package: the store is reached through the small
:class:`ProjectReader` protocol that ``tidings.storage.Store`` satisfies.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Protocol


class _App(Protocol):
    @property
    def project_id(self) -> str: ...


class _Project(Protocol):
    @property
    def aws_account_id(self) -> str: ...


class ProjectReader(Protocol):
    """The store calls the account lookup makes."""

    async def get_app(self, app_id: str) -> _App | None: ...

    async def get_project(self, project_id: str) -> _Project | None: ...


class AccountIds:
    """``awsAccountId`` per app id, kept ``ttl_seconds`` (an unknown app has none)."""

    def __init__(
        self,
        store: ProjectReader,
        *,
        ttl_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._ttl = ttl_seconds
        self._clock = clock
        self._known: dict[str, tuple[float, str | None]] = {}

    async def of(self, app_ids: Iterable[str]) -> dict[str, str]:
        """The account id of each of ``app_ids`` that exists."""
        now = self._clock()
        out: dict[str, str] = {}
        for app_id in set(app_ids):
            known = self._known.get(app_id)
            if known is None or now - known[0] >= self._ttl:
                known = self._known[app_id] = (now, await self._read(app_id))
            if known[1] is not None:
                out[app_id] = known[1]
        return out

    async def _read(self, app_id: str) -> str | None:
        app = await self._store.get_app(app_id)
        if app is None:
            return None
        project = await self._store.get_project(app.project_id)
        return None if project is None else project.aws_account_id
