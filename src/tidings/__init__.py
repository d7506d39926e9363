"""Tidings: self-hostable in-app engagement platform and event router.

The names an app needs: the SDK client (:class:`Tidings`), its gate types, the event record, and
the error hierarchy. Server-side packages (``tidings.server``, ``tidings.storage``, ...) are
imported explicitly, so embedding the SDK never loads them.

The names are loaded on first use: every ``import tidings.x`` runs this module first, and the
``tidings`` command, which only needs its own modules to print ``--help``, must not pay for the
SDK and the campaign engine on each start.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tidings.core import (
        DeviceProfile,
        EventRecord,
        InvalidCampaign,
        InvalidConfig,
        InvalidEvent,
        InvalidInput,
        InvalidScenario,
        TidingsError,
    )
    from tidings.sdk import GateDecision, Resolution, Tidings

    __version__: str

_HOMES = {
    "DeviceProfile": "tidings.core",
    "EventRecord": "tidings.core",
    "InvalidCampaign": "tidings.core",
    "InvalidConfig": "tidings.core",
    "InvalidEvent": "tidings.core",
    "InvalidInput": "tidings.core",
    "InvalidScenario": "tidings.core",
    "TidingsError": "tidings.core",
    "GateDecision": "tidings.sdk",
    "Resolution": "tidings.sdk",
    "Tidings": "tidings.sdk",
}

__all__ = [
    "DeviceProfile",
    "EventRecord",
    "GateDecision",
    "InvalidCampaign",
    "InvalidConfig",
    "InvalidEvent",
    "InvalidInput",
    "InvalidScenario",
    "Resolution",
    "Tidings",
    "TidingsError",
    "__version__",
]


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from tidings.version import package_version

        value: Any = package_version()
    elif name in _HOMES:
        value = getattr(importlib.import_module(_HOMES[name]), name)
    else:
        raise AttributeError(f"module 'tidings' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
