"""Which driver errors mean "the database cannot serve now", made for real on both drivers.

Each condition the server answers with 503 (lock timeout, read-only, full, unopenable file,
refused or lost connection) is produced with the real driver and classified by the backend's
own rule; errors of the caller's making (a missing table, a constraint) are not.
"""

from __future__ import annotations

import random
import socket
import sqlite3
from pathlib import Path

import psycopg
import pytest
from storage_support import PG_BASE

from tidings.storage.postgres import unavailable as pg_unavailable
from tidings.storage.sqlite import unavailable as sqlite_unavailable


def _sqlite_error(path: Path, *statements: str, **connect: object) -> sqlite3.Error:
    try:
        conn = sqlite3.connect(str(path), isolation_level=None, **connect)  # type: ignore[arg-type]
    except sqlite3.Error as exc:
        return exc
    try:
        for statement in statements:
            conn.execute(statement)
    except sqlite3.Error as exc:
        return exc
    finally:
        conn.close()
    raise AssertionError(f"no error from {statements}")


def test_sqlite_conditions_that_mean_unavailable(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    setup = sqlite3.connect(str(db), isolation_level=None)
    setup.execute("CREATE TABLE t (x BLOB)")
    setup.execute("BEGIN IMMEDIATE")  # holds the write lock
    locked = _sqlite_error(db, "BEGIN IMMEDIATE", timeout=0.01)
    setup.execute("ROLLBACK")
    pages = setup.execute("PRAGMA page_count").fetchone()[0]
    full = _sqlite_error(
        db, f"PRAGMA max_page_count = {pages}", "INSERT INTO t VALUES (zeroblob(100000))"
    )
    setup.close()
    read_only = _sqlite_error(Path(f"file:{db}?mode=ro"), "INSERT INTO t VALUES (1)", uri=True)
    cannot_open = _sqlite_error(tmp_path / "missing" / "dir" / "x.db", "SELECT 1")
    closed = sqlite3.connect(":memory:")
    closed.close()
    with pytest.raises(sqlite3.ProgrammingError) as closed_error:
        closed.execute("SELECT 1")
    for exc, words in (
        (locked, "locked"),
        (full, "full"),
        (read_only, "read-only"),
        (cannot_open, "cannot be opened"),
        (closed_error.value, "closed"),
    ):
        reason = sqlite_unavailable(exc)
        assert reason is not None and words in reason, (exc, reason)

    missing_table = _sqlite_error(db, "SELECT * FROM nowhere")
    duplicate = _sqlite_error(
        db, "CREATE TABLE u (k PRIMARY KEY)", "INSERT INTO u VALUES (1)", "INSERT INTO u VALUES (1)"
    )
    assert sqlite_unavailable(missing_table) is None
    assert sqlite_unavailable(duplicate) is None
    assert sqlite_unavailable(ValueError("not a driver error")) is None


def _pg_error(*statements: str, dsn: str = PG_BASE) -> psycopg.Error:
    try:
        with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
            for statement in statements:
                conn.execute(statement)  # type: ignore[arg-type]
    except psycopg.Error as exc:
        return exc
    raise AssertionError(f"no error from {statements}")


def test_postgresql_conditions_that_mean_unavailable() -> None:
    key = random.getrandbits(62)
    with psycopg.connect(PG_BASE, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (key,))
        lock_timeout = _pg_error("SET lock_timeout = '20ms'", f"SELECT pg_advisory_lock({key})")
        holder.execute("SELECT pg_advisory_unlock(%s)", (key,))
    read_only = _pg_error("SET default_transaction_read_only = on", "CREATE TEMP TABLE t (x int)")
    with socket.socket() as probe:  # a port nothing listens on: the connection is refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    refused = _pg_error("SELECT 1", dsn=f"postgresql://postgres@127.0.0.1:{port}/test")
    with psycopg.connect(PG_BASE, autocommit=True) as conn:
        own_pid = conn.info.backend_pid
        with psycopg.connect(PG_BASE, autocommit=True) as killer:
            killer.execute("SELECT pg_terminate_backend(%s)", (own_pid,))
        with pytest.raises(psycopg.OperationalError) as terminated:
            conn.execute("SELECT 1")
    for exc in (lock_timeout, read_only, refused, terminated.value):
        assert pg_unavailable(exc) is not None, exc

    missing_table = _pg_error("SELECT * FROM tidings_no_such_table")
    division = _pg_error("SELECT 1 / 0")
    assert pg_unavailable(missing_table) is None
    assert pg_unavailable(division) is None
