"""``--log``: migrate makes the JetStream stream; bad URLs and mismatches are one line."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from cli_support import clean_env, tidings

sys.path.insert(0, str(Path(__file__).parents[1] / "storage"))
from storage_support import own_stream

pytestmark = pytest.mark.nats


def test_migrate_makes_the_stream_and_refuses_a_mismatch(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 't.db'}"
    with own_stream(partitions=8) as log:
        made = tidings("migrate", "--db", db, "--log", log, env=clean_env())
        assert made.returncode == 0, made.stderr
        assert "8 partitions" in made.stdout
        again = tidings("migrate", "--db", db, env=clean_env(TIDINGS_LOG=log))
        assert again.returncode == 0, again.stderr
        other = log.replace("partitions=8", "partitions=16")
        refused = tidings("migrate", "--db", db, "--log", other, env=clean_env())
        assert refused.returncode == 2
        assert refused.stderr.startswith(f"error: stream {log.split('stream=')[1].split('&')[0]}")
        assert "has 8 partitions" in refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1
        assert "Traceback" not in refused.stderr


def test_a_bad_log_url_names_the_option(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 't.db'}"
    bad = tidings("migrate", "--db", db, "--log", "nats://h:4222?partitions=0", env=clean_env())
    assert bad.returncode == 2
    assert bad.stderr == "error: --log: log.partitions: must be between 1 and 1024\n"
    assert not (tmp_path / "t.db").exists()
