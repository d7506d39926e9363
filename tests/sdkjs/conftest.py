"""Fixtures of the JavaScript SDK suite: the build (once per run) and the batch runner."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sdkjs_support import BatchRunner, build_once


@pytest.fixture(scope="session")
def sdkjs_dist() -> Path:
    return build_once()


@pytest.fixture(scope="session")
def batch_runner(sdkjs_dist: Path) -> Iterator[BatchRunner]:
    runner = BatchRunner(sdkjs_dist)
    try:
        yield runner
    finally:
        runner.close()
