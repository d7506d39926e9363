"""The project's own checks run as part of the test suite, so one command proves everything.

ruff (lint and format), mypy --strict on the sans-IO core, and the import-linter layer contracts.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CODE = [d for d in ("src", "tests", "bench", "examples") if (ROOT / d).is_dir()]


def tool(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / name), *args], cwd=ROOT, capture_output=True, text=True, timeout=600
    )


@pytest.mark.parametrize(
    "args",
    [
        ("ruff", "check", *CODE),
        ("ruff", "format", "--check", *CODE),
    ],
    ids=["ruff-check", "ruff-format"],
)
def test_ruff(args: tuple[str, ...]) -> None:
    proc = tool(*args)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_strict_on_core() -> None:
    proc = tool("mypy")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_import_layers() -> None:
    proc = tool("lint-imports")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
