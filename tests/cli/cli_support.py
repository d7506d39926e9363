"""Running the real ``tidings`` console script, as a person would."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

TIDINGS = shutil.which("tidings", path=str(Path(sys.executable).parent)) or "tidings"
KEY_VARIABLES = ("TIDINGS_SECRET_KEY", "TIDINGS_SECRET_KEY_FILE", "TIDINGS_DB")


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without the variables that pick a database or a key, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in KEY_VARIABLES}
    env.update(extra)
    return env


def tidings(
    *args: str,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    stdin: str | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run ``tidings ARGS`` and collect what it printed."""
    return subprocess.run(
        [TIDINGS, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=cwd,
        input=stdin,
    )
