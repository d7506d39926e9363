"""The project's own checks run as part of the test suite, so one command proves everything.

ruff (lint and format), mypy --strict on the sans-IO core, and the import-linter layer contracts.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from repository import shipped_files

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


# A path that leaves the checkout: a parent folder's spec, or notes that are not in the repository.
_OUTSIDE = re.compile(
    r"\.\./shared|shared/(?:vectors|contracts|reference|seeds)"
    r"|(?<![\w/.])(?:contracts|reference|seeds)/[\w-]+\.(?:md|txt|json)"
)


def _tracked_text_files() -> list[Path]:
    suffixes = {".py", ".md", ".toml", ".cfg", ".txt", ".html", ".js", ".ts", ".json", ".sh", ""}
    return [path for path in shipped_files() if path.suffix in suffixes]


def test_nothing_reaches_outside_the_repository() -> None:
    """A fresh clone has nothing beside it: no test, doc or script may read a folder next to it."""
    this = Path(__file__).resolve()
    offenders = []
    for path in _tracked_text_files():
        if path.resolve() == this:
            continue
        text = path.read_text(errors="replace")
        offenders += [f"{path.relative_to(ROOT)}: {m.group(0)}" for m in _OUTSIDE.finditer(text)]
    assert offenders == []


def test_the_outside_pattern_can_fail() -> None:
    for text in ("see ../shared/vectors", "contracts/events.md", "(reference/amply.md §1)"):
        assert _OUTSIDE.search(text), text
    for text in ("docs/spec/events.md", "spec/stream.md", "./reference.md"):
        assert not _OUTSIDE.search(text), text
