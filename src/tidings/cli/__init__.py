"""The ``tidings`` command line."""

from tidings.cli import campaigns as _campaigns  # noqa: F401  (registers the command)
from tidings.cli import simulate as _simulate  # noqa: F401  (registers the command)
from tidings.cli.app import app, main

__all__ = ["app", "main"]
