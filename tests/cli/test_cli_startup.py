"""``tidings --help`` loads only the command line itself, not the server, pipeline or SDK.

Every command module is imported to build the help, so each must import its heavy parts inside
the command. The time this saves is measured in bench/cli/startup.py; here the behaviour is
checked: which modules a help screen loads (``python -X importtime`` lists every import).
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from cli_support import TIDINGS

HEAVY = ("tidings.server", "tidings.pipeline", "tidings.sdk", "tidings.storage", "uvicorn")


def imported_by(*args: str) -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", TIDINGS, *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Usage: tidings" in proc.stdout
    return {m.group(1) for m in re.finditer(r"^import time:.*\|\s+(\S+)$", proc.stderr, re.M)}


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["simulate", "--help"],
        ["campaigns", "--help"],
        ["streams", "tail", "--help"],
        ["amplitude", "--help"],
    ],
)
def test_help_does_not_import_the_server_pipeline_or_sdk(args: list[str]) -> None:
    modules = imported_by(*args)
    assert "tidings.cli.app" in modules  # the listing works
    loaded = sorted(m for m in modules if m.startswith(HEAVY))
    assert loaded == []


@pytest.mark.parametrize("args", [["--help"], ["simulate", "--help"]])
def test_the_top_help_screens_do_not_load_pydantic(args: list[str]) -> None:
    """typer coerces an unset ``--help`` of a group through pydantic, which cost as much again
    as the rest of the start-up; the root's ``--help`` is a plain flag so these two avoid it."""
    assert not any(m.startswith("pydantic") for m in imported_by(*args))
