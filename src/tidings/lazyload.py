"""Package names that are imported on first use (PEP 562 module ``__getattr__``).

A package's ``__init__`` that re-exports names from heavy modules makes every import of any of
its submodules pay for all of them. The ``tidings`` command imports many small modules to
build its help, and a command that needs one module of the server should not load every route:
so ``tidings`` and ``tidings.server`` declare where each public name lives and load it when it
is first used. Type checkers see the names through ``if TYPE_CHECKING`` imports.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_names(package: str, homes: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` that imports ``homes[name]`` on first use."""

    def load(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(home), name)
        setattr(sys.modules[package], name, value)  # later lookups skip this function
        return value

    return load
