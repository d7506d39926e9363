"""How the repository is set up for people who clone it: the test suite's own settings, what git
ignores, the licence and the changelog."""

from __future__ import annotations

import re
import subprocess
import tomllib
import warnings

import pytest
from hypothesis import settings

from repository import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_markers_are_registered_and_enforced() -> None:
    options = PYPROJECT["tool"]["pytest"]["ini_options"]
    names = {line.split(":")[0] for line in options["markers"]}
    assert {"slow", "postgres", "nats", "browser", "reliability"} <= names
    assert "--strict-markers" in options["addopts"]


def test_hypothesis_runs_without_deadlines() -> None:
    assert settings().deadline is None


def test_the_projects_own_warnings_are_errors_and_others_are_not() -> None:
    with pytest.raises(DeprecationWarning):
        warnings.warn_explicit("old", DeprecationWarning, "x.py", 1, module="tidings.core.x")
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        warnings.warn_explicit("old", DeprecationWarning, "x.py", 1, module="somelib.x")
    assert len(seen) == 1


@pytest.mark.parametrize("name", ["app.json", "tidings.key", "tidings.db.key", "tidings.db"])
def test_git_ignores_secrets_and_databases(name: str) -> None:
    proc = subprocess.run(["git", "check-ignore", "-q", name], cwd=ROOT, timeout=30)
    assert proc.returncode == 0, f"{name} is not ignored"


def test_licence_is_the_apache_licence_pyproject_names() -> None:
    assert PYPROJECT["project"]["license"] == "Apache-2.0"
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License\n                           Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text


def test_changelog_has_a_section_for_this_version_first() -> None:
    sections = re.findall(r"^## (\S+)", (ROOT / "CHANGELOG.md").read_text(), re.M)
    assert sections[0] == PYPROJECT["project"]["version"]
    assert len(sections) == len(set(sections))
