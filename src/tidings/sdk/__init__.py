"""The Python client an app embeds: ``Tidings`` (docs/spec/sdk.md).

It sits on :mod:`tidings.core` only: the pure device recorder and campaign engine, wrapped with an
on-device SQLite store, one background worker, signed uploads and gates.
"""

from tidings.sdk.client import Tidings
from tidings.sdk.gates import GateDecision, Resolution

__all__ = ["GateDecision", "Resolution", "Tidings"]
