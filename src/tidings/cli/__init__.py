"""The ``tidings`` command line.

Each sub-command lives in its own module and registers itself on :data:`app` when imported.
Those modules import only what their command-line options need; everything else is imported
inside the command, so that ``tidings --help`` (which builds every command) starts quickly.
"""

from tidings.cli import admin as _admin  # noqa: F401
from tidings.cli import amplitude as _amplitude  # noqa: F401
from tidings.cli import campaign_admin as _campaign_admin  # noqa: F401
from tidings.cli import campaigns as _campaigns  # noqa: F401
from tidings.cli import destinations as _destinations  # noqa: F401
from tidings.cli import serve as _serve  # noqa: F401
from tidings.cli import simulate as _simulate  # noqa: F401
from tidings.cli import status as _status  # noqa: F401
from tidings.cli import stream_tail as _stream_tail  # noqa: F401
from tidings.cli import streams as _streams  # noqa: F401
from tidings.cli import tokens as _tokens  # noqa: F401
from tidings.cli import worker as _worker  # noqa: F401
from tidings.cli.app import app, main

__all__ = ["app", "main"]
