"""Suite-wide set-up.

* The helpers at the top of ``tests/`` (``loopback``) import from any suite.
* Hypothesis runs without deadlines (profile ``ci``): on a busy machine a slow example is not a
  failure, and the properties are what the tests check. ``HYPOTHESIS_PROFILE=dev`` brings back
  Hypothesis's own defaults (a 200 ms deadline per example).
* Nothing the suite runs writes to the real home folder: the per-user config folder (where
  PostgreSQL's default server key lives) is a fresh one for the session.
* Markers (``slow``, ``postgres``, ``nats``, ``browser``, ``reliability``, registered in
  pyproject.toml) let ``pytest -m "not slow"`` pick a quick run; nothing is skipped by default.
  ``postgres`` is put on every test that opens PostgreSQL through a fixture, here, so no test
  has to remember it.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings

sys.path.insert(0, str(Path(__file__).parent))

settings.register_profile("ci", deadline=None, print_blob=True)
settings.register_profile("dev")
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

_CONFIG_HOME = tempfile.TemporaryDirectory(prefix="tidings-tests-config-")
os.environ["XDG_CONFIG_HOME"] = _CONFIG_HOME.name

_POSTGRES_FIXTURES = {"postgres_backend", "pg_url", "postgres_url"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        params = callspec.params.values() if callspec is not None else ()
        fixtures = set(getattr(item, "fixturenames", ()))
        if "postgresql" in params or fixtures & _POSTGRES_FIXTURES:
            item.add_marker(pytest.mark.postgres)
