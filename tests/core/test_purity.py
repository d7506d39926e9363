"""The core reads no clock and opens no file, beyond what import-linter can see.

import-linter forbids I/O modules by import; this scan catches calls that need no import of their
own (``open``) or hide behind an allowed module (``datetime.now``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import tidings.core

CORE = Path(tidings.core.__file__).parent
FORBIDDEN_ATTRIBUTES = {"now", "utcnow", "today", "time", "time_ns", "monotonic", "perf_counter"}
FORBIDDEN_CALLS = {"open", "input", "print", "exec", "eval"}
FORBIDDEN_SUBMODULES = {"urllib.request", "urllib.error", "http.client", "email.mime"}


def core_sources() -> list[Path]:
    return sorted(CORE.rglob("*.py"))


def test_core_has_sources() -> None:
    assert len(core_sources()) >= 8


def test_core_calls_no_clock_and_no_file() -> None:
    offenders = []
    for path in core_sources():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Name) and func.id in FORBIDDEN_CALLS:
                offenders.append(f"{path.name}:{node.lineno} {func.id}()")
            if isinstance(func, ast.Attribute) and func.attr in FORBIDDEN_ATTRIBUTES:
                offenders.append(f"{path.name}:{node.lineno} .{func.attr}()")
    assert offenders == []


def test_core_imports_no_network_submodule() -> None:
    offenders = []
    for path in core_sources():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [
                f"{path.name}:{node.lineno} {n}" for n in names if n in FORBIDDEN_SUBMODULES
            ]
    assert offenders == []
