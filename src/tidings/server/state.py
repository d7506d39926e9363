"""What every handler needs, hung on ``app.state.tidings``."""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.requests import Request

from tidings.server.metrics import Metrics
from tidings.server.profiles import ProfileCountCache, ProfileWriter
from tidings.server.settings import ServerIds, ServerSettings
from tidings.storage import Store, StoreUnavailable


@dataclass(slots=True)
class ServerState:
    """The store (``None`` until the lifespan opened it), settings, metrics, id source and the
    pending device-profile updates."""

    settings: ServerSettings
    store: Store | None = None
    metrics: Metrics = field(default_factory=Metrics)
    ids: ServerIds | None = None
    profiles: ProfileWriter = field(default_factory=ProfileWriter)
    profile_counts: ProfileCountCache = field(default_factory=ProfileCountCache)

    def __post_init__(self) -> None:
        if self.ids is None:
            self.ids = ServerIds(self.settings)


def server_state(request: Request) -> ServerState:
    state: ServerState = request.app.state.tidings
    return state


def store_of(request: Request) -> Store:
    store = server_state(request).store
    if store is None:
        raise StoreUnavailable("not open yet")
    return store
