"""Starting the pipeline in a process: load every consumer module, then run them.

Consumers register themselves when their module is imported. Every module of this package is
imported here, so a module added next to this one (a stream sink adapter, a new destination)
takes part without a list to keep up to date.
"""

from __future__ import annotations

import importlib
import pkgutil

from tidings.pipeline.base import PipelineRunner
from tidings.storage import Store


def load_builtin() -> None:
    """Import every module of ``tidings.pipeline`` (their imports register consumers; importing
    an already imported module is a dictionary lookup)."""
    import tidings.pipeline as package

    for info in pkgutil.iter_modules(package.__path__):
        if info.name not in {"base", "runtime"}:
            importlib.import_module(f"{package.__name__}.{info.name}")


async def start_pipeline(
    store: Store, *, lease_ms: int = 15_000, idle_seconds: float = 1.0
) -> PipelineRunner:
    """Load the built-in consumers and start a runner on ``store`` in the background."""
    load_builtin()
    runner = PipelineRunner(store, lease_ms=lease_ms, idle_seconds=idle_seconds)
    await runner.start()
    return runner
