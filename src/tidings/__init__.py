"""Tidings: self-hostable in-app engagement platform and event router.

The names an app needs: the SDK client (:class:`Tidings`), its gate types, the event record, and
the error hierarchy. Server-side packages (``tidings.server``, ``tidings.storage``, ...) are
imported explicitly, so embedding the SDK never loads them.

The names load on first use (:mod:`tidings.lazyload`): every ``import tidings.x`` runs this
module first, and the ``tidings`` command, which only needs its own modules to print
``--help``, must not pay for the SDK and the campaign engine on each start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tidings.lazyload import lazy_names

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

_load = lazy_names(
    __name__,
    {
        **dict.fromkeys(
            [
                "DeviceProfile",
                "EventRecord",
                "InvalidCampaign",
                "InvalidConfig",
                "InvalidEvent",
                "InvalidInput",
                "InvalidScenario",
                "TidingsError",
            ],
            "tidings.core",
        ),
        **dict.fromkeys(["GateDecision", "Resolution", "Tidings"], "tidings.sdk"),
    },
)


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from tidings.version import VERSION

        globals()[name] = VERSION
        return VERSION
    return _load(name)
