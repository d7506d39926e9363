"""``tidings tokens create|list|revoke`` through the real console script."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from tidings.storage import open_store

TIDINGS = shutil.which("tidings", path=str(Path(sys.executable).parent)) or "tidings"
KEY = "11" * 32


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TIDINGS_SECRET_KEY": KEY}
    return subprocess.run(
        [TIDINGS, "tokens", *args], capture_output=True, text=True, timeout=60, env=env
    )


def test_create_list_and_revoke(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 't.db'}"

    async def project() -> str:
        store = await open_store(db, server_key=bytes.fromhex(KEY))
        try:
            return (await store.create_project("Acme")).id
        finally:
            await store.close()

    project_id = asyncio.run(project())
    made = run("create", "--name", "CI", "--project", "Acme", "--expires-in", "90d", "--db", db)
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert token.startswith("tat_") and "\n" not in token
    assert "token id tok_" in made.stderr
    plain = run("create", "--label", "ops", "--db", db)
    assert plain.returncode == 0, plain.stderr

    listed = run("list", "--db", db)
    assert listed.returncode == 0, listed.stderr
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [r["name"] for r in rows] == ["CI", "ops"]
    assert rows[0]["projectIds"] == [project_id] and rows[1]["projectIds"] is None
    assert rows[0]["expiresAt"] - rows[0]["createdAt"] in range(
        90 * 86_400_000 - 60_000, 90 * 86_400_000 + 60_000
    )
    assert token not in listed.stdout

    revoked = run("revoke", rows[0]["id"], "--db", db)
    assert (revoked.returncode, revoked.stdout.strip()) == (0, f"revoked {rows[0]['id']}")
    by_token = run("revoke", plain.stdout.strip(), "--db", db)
    assert (by_token.returncode, by_token.stdout.strip()) == (0, "revoked the token")
    again = run("revoke", rows[0]["id"], "--db", db)
    assert again.returncode == 2 and "no active admin token" in again.stderr
    rows = [json.loads(line) for line in run("list", "--db", db).stdout.splitlines()]
    assert all(r["revokedAt"] is not None for r in rows)


def test_bad_options_name_the_option(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 't.db'}"
    r = run("create", "--expires-in", "soon", "--db", db)  # named before the database is opened
    assert r.returncode == 2 and "--expires-in: 'soon' is not a duration" in r.stderr
    asyncio.run(_close(open_store(db, server_key=bytes.fromhex(KEY))))
    r = run("create", "--project", "Nowhere", "--db", db)
    assert r.returncode == 2 and "--project: no project named or with the id 'Nowhere'" in r.stderr
    assert r.stdout == ""


async def _close(opening: Any) -> None:
    """Create the database (only serve and migrate do that from the command line)."""
    await (await opening).close()
