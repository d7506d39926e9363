"""The installed version of Tidings, read from the package's metadata.

``pyproject.toml`` is the one place the version is written; ``tidings --version``,
``tidings.__version__`` and ``/openapi.json`` all read it from here. A module of its own (not the
package's ``__init__``), so that any layer can import it without importing the SDK names.
"""

from __future__ import annotations


def package_version() -> str:
    """The installed distribution's version."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tidings")
    except PackageNotFoundError:  # imported from a source tree that was never installed
        return "0+unknown"
