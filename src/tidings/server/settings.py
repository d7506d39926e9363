"""Server settings and the per-app state handlers reach through ``request.app.state``."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tidings.core.bounds import TimeRange, TimeWindow
from tidings.core.ids import IdFactory
from tidings.storage import CatalogLimits

DEFAULT_MAX_BODY_BYTES = 5 * 1024 * 1024
DEFAULT_MAX_EVENTS = 1000
DEFAULT_MAX_DECISIONS = 1000
DEFAULT_MAX_SESSIONS = 100
DEFAULT_MAX_COHORT_IDS = 1000


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """Limits and hooks of one server process.

    ``clock`` returns unix seconds as a float; tests pass a fixed clock to exercise the
    timestamp window without sleeping. ``partner_api_key``, when set, is the only
    ``partner_api_key`` the cohort-import endpoints accept; when ``None`` any non-empty value is
    accepted and the project's data import key (``client_secret``) alone authenticates.
    """

    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_events: int = DEFAULT_MAX_EVENTS
    """Events per upload, and messages per Segment batch (413 beyond)."""
    max_decisions: int = DEFAULT_MAX_DECISIONS
    """Decisions per upload (413 beyond)."""
    max_sessions: int = DEFAULT_MAX_SESSIONS
    """Sessions per upload (413 beyond)."""
    time_range: TimeRange = field(default_factory=TimeRange)
    """Times ingest accepts: event, session, decision, install and Segment message times."""
    max_cohort_ids: int = DEFAULT_MAX_COHORT_IDS
    catalog_limits: CatalogLimits = field(default_factory=CatalogLimits)
    """Distinct custom event names and custom-property keys per app (storage/catalogs.py)."""
    partner_api_key: str | None = None
    clock: Callable[[], float] = field(default=time.time)
    response_ttl_seconds: float = 86_400.0
    """How long a request id's stored response answers retries (server/maintenance.py)."""
    prune_interval_seconds: float = 600.0
    """How often older stored responses are forgotten."""

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    def time_window(self) -> TimeWindow:
        """The times ingest accepts right now."""
        return self.time_range.at(self.now_ms())


class ServerIds:
    """Time-ordered ids for messages that arrive without one (Segment ``messageId``)."""

    __slots__ = ("_factory", "_settings")

    def __init__(self, settings: ServerSettings) -> None:
        self._settings = settings
        self._factory = IdFactory(os.urandom)

    def new_id(self) -> str:
        return self._factory.new_id(self._settings.now_ms())
