"""The HTTP server: a Starlette ASGI app over one :class:`~tidings.storage.Store`.

Device ingestion (``POST /api/v1/session``), the config manifest, Segment-compatible sources,
the admin API, Braze-style cohort import, ``/openapi.json``, ``/healthz`` and ``/metrics``.
Handlers validate, write to storage and return; they never call a destination.

The names below load on first use (:mod:`tidings.lazyload`): a command that needs one module of
the server, such as the admin API's campaign operations, does not import every route.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tidings.lazyload import lazy_names

if TYPE_CHECKING:
    from tidings.server.app import create_app, create_app_for_url
    from tidings.server.auth import sign
    from tidings.server.settings import ServerSettings

__all__ = ["ServerSettings", "create_app", "create_app_for_url", "sign"]

__getattr__ = lazy_names(
    __name__,
    {
        "ServerSettings": "tidings.server.settings",
        "create_app": "tidings.server.app",
        "create_app_for_url": "tidings.server.app",
        "sign": "tidings.server.auth",
    },
)
