"""The package's version, read once from its installed metadata (one number for the SDK's
``device.sdk.version``, the server's OpenAPI document, the messages' ``context.library``)."""

from __future__ import annotations

from importlib import metadata

try:
    VERSION = metadata.version("tidings")
except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare source tree
    VERSION = "0.0.0"
