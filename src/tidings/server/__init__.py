"""The HTTP server: a Starlette ASGI app over one :class:`~tidings.storage.Store`.

Device ingestion (``POST /api/v1/session``), the config manifest, Segment-compatible sources,
the admin API, Braze-style cohort import, ``/openapi.json``, ``/healthz`` and ``/metrics``.
Handlers validate, write to storage and return; they never call a destination.
"""

from tidings.server.app import create_app, create_app_for_url
from tidings.server.auth import sign
from tidings.server.settings import ServerSettings

__all__ = ["ServerSettings", "create_app", "create_app_for_url", "sign"]
