"""The JavaScript SDK for the test suite: built once per run, and its scenario runner as a pipe.

``npm ci && npm run build`` runs in ``sdk-js/`` the first time a test asks for the build; the
parity tests then drive ``sdk-js/dist/simulate.js`` (one process per file, or one ``--batch``
process answering JSON Lines) and the browser tests serve ``sdk-js/dist/tidings.min.js``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[2]
SDK_JS = ROOT / "sdk-js"
DIST = SDK_JS / "dist"
_lock = threading.Lock()
_built: list[str] = []


def node_or_fail() -> tuple[str, str]:
    """The ``node`` and ``npm`` executables; missing ones fail with the way to install them."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        import pytest

        pytest.fail(
            "Node.js and npm are needed to build and test sdk-js (node >= 18): install them "
            "(`apt-get install -y nodejs npm`, what .ci/run does).",
            pytrace=False,
        )
    return node, npm


def build_once() -> Path:
    """``npm ci && npm run build`` in sdk-js, once per test run; returns ``sdk-js/dist``."""
    with _lock:
        if not _built:
            _node, npm = node_or_fail()
            for args in (["ci", "--no-audit", "--no-fund"], ["run", "build"]):
                proc = subprocess.run(
                    [npm, *args], cwd=SDK_JS, capture_output=True, text=True, timeout=600
                )
                if proc.returncode != 0:
                    raise AssertionError(
                        f"npm {' '.join(args)} failed ({proc.returncode}):\n"
                        f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
                    )
            _built.append("ok")
    return DIST


@dataclass(frozen=True, slots=True)
class Run:
    """Exit status, standard output and standard error of one scenario run."""

    code: int
    stdout: bytes
    stderr: str


class BatchRunner:
    """``node dist/simulate.js --batch``: one scenario per line in, one result per line out."""

    def __init__(self, dist: Path) -> None:
        node, _npm = node_or_fail()
        self._proc = subprocess.Popen(
            [node, str(dist / "simulate.js"), "--batch"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )

    def run(self, label: str, text: str, *, decisions: bool) -> Run:
        stdin: IO[str] | None = self._proc.stdin
        stdout: IO[str] | None = self._proc.stdout
        assert stdin is not None and stdout is not None
        stdin.write(json.dumps({"label": label, "text": text, "decisions": decisions}) + "\n")
        stdin.flush()
        line = stdout.readline()
        if not line:
            raise AssertionError(f"the node runner exited ({self._proc.poll()})")
        answer: dict[str, Any] = json.loads(line)
        return Run(answer["code"], answer["stdout"].encode("utf-8"), answer["stderr"])

    def close(self) -> None:
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        self._proc.wait(timeout=30)
