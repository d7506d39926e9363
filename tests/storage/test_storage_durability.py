"""Migrations and crash safety."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from storage_support import T0, Backend, event, new_app, run

from tidings.storage.migrations import apply_pending
from tidings.storage.migrations.postgres import MIGRATIONS as PG_MIGRATIONS
from tidings.storage.migrations.sqlite import MIGRATIONS as SQLITE_MIGRATIONS

pytestmark = [pytest.mark.slow, pytest.mark.reliability]

WRITER = Path(__file__).with_name("crash_writer.py")


def test_migrations_from_empty_and_rerun(sql_backend: Backend) -> None:
    async def go() -> None:
        store = await sql_backend.open()
        expected = len(store.migrations)
        assert await store.schema_version() == expected
        app = await new_app(store)
        await store.ingest(app.app_id, [event("e1")], arrival_ms=T0)
        assert await store.migrate() == []  # nothing pending
        await store.close()
        store = await sql_backend.open()  # reopening re-runs nothing and keeps the data
        try:
            assert await store.schema_version() == expected
            assert [r.item_id for r in await store.read_log(0)] == ["e1"]
        finally:
            await store.close()
        rows = [r for table, r in sql_backend.raw_rows() if table == "schema_version"]
        assert sorted(r[0] for r in rows) == list(range(1, expected + 1))

    run(go())


def test_both_backends_have_the_same_migration_versions() -> None:
    assert [m[0] for m in SQLITE_MIGRATIONS] == [m[0] for m in PG_MIGRATIONS]


def test_migration_list_must_be_contiguous() -> None:
    with pytest.raises(ValueError, match="without gaps"):
        apply_pending(None, [(2, "x", [])])  # type: ignore[arg-type]


def _acked(lines: list[str]) -> set[int]:
    return {int(line.split()[1]) for line in lines if line.startswith("ack ")}


@pytest.mark.parametrize("mode", ["kill", "exit"])
def test_nothing_acknowledged_is_lost(sql_backend: Backend, mode: str) -> None:
    """Kill the writer mid-stream (or let it exit without closing): every acked batch is there,
    and every batch is all-or-nothing."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [sys.executable, str(WRITER), sql_backend.url, "loop" if mode == "kill" else "exit"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    lines: list[str] = []
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            lines.append(line.strip())
            if mode == "kill" and len(_acked(lines)) >= 10:
                proc.send_signal(signal.SIGKILL)
                break
    finally:
        proc.wait(timeout=60)
    assert proc.returncode in (0, -signal.SIGKILL), proc.stderr.read() if proc.stderr else ""
    acked = _acked(lines)
    assert len(acked) >= 10

    async def check() -> None:
        async with await sql_backend.open() as store:
            per_batch: dict[int, int] = {}
            after = 0
            while page := await store.read_log(after, 1000):
                for r in page:
                    n = int(r.item_id.split("-")[0][1:])
                    per_batch[n] = per_batch.get(n, 0) + 1
                after = page[-1].seq
            assert acked <= set(per_batch)
            assert set(per_batch.values()) == {50}

    run(check())


def test_sqlite_wal_is_copied_back_by_the_background_checkpointer(tmp_path: Path) -> None:
    """Commits far below the writer's own checkpoint threshold still reach the database file:
    the background checkpointer copies them, so the writer never stops to do it."""
    path = tmp_path / "tidings.db"
    backend = Backend("sqlite", f"sqlite:///{path}", path=path)

    async def go() -> None:
        async with await backend.open() as store:
            app = await new_app(store)
            size_before = path.stat().st_size
            filler = {"note": "x" * 2000}
            for n in range(40):
                batch = [event(f"e{n}-{i}", properties=filler) for i in range(25)]
                await store.ingest(app.app_id, batch, arrival_ms=T0)
            wal = Path(f"{path}-wal")
            assert wal.stat().st_size > 1_000_000  # ~2 MB went through the WAL
            deadline = asyncio.get_running_loop().time() + 10
            while path.stat().st_size < size_before + 1_000_000:
                assert asyncio.get_running_loop().time() < deadline, "no checkpoint happened"
                await asyncio.sleep(0.02)

    run(go())
