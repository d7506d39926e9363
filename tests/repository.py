"""The files of the repository as a fresh clone would have them."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def shipped_files() -> list[Path]:
    """Every file git tracks or would track (not ignored), as absolute paths."""
    proc = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
        timeout=60,
    )
    paths = (ROOT / name for name in proc.stdout.decode().split("\0") if name)
    return [path for path in paths if path.is_file()]
