"""Database URLs, the admin CLI, and a property test of ingest idempotency."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from storage_support import SERVER_KEY, T0, Backend, event, reads_secret, run, stored_ids
from typer.testing import CliRunner

import tidings.cli  # noqa: F401  (registers the commands)
from tidings.cli.app import app as cli_app
from tidings.core.errors import InvalidConfig
from tidings.storage import open_store, parse_db_url


def test_parse_db_url() -> None:
    rel = parse_db_url("sqlite:///./data/t.db")
    assert (rel.backend, rel.path) == ("sqlite", Path("./data/t.db"))
    assert parse_db_url("sqlite:////var/lib/t.db").path == Path("/var/lib/t.db")
    pg = parse_db_url("postgres://u@h:5433/db?schema=s1&sslmode=disable")
    assert (pg.backend, pg.schema) == ("postgresql", "s1")
    assert pg.dsn == "postgresql://u@h:5433/db?sslmode=disable"
    for bad in ("mysql://x/y", "sqlite://host/x.db", "sqlite:///", "postgresql://h/db?schema=a;b"):
        with pytest.raises(InvalidConfig):
            parse_db_url(bad)


def test_cli_creates_apps_tokens_and_migrates(
    sql_backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIDINGS_SECRET_KEY", SERVER_KEY.hex())
    runner = CliRunner()
    migrated = runner.invoke(cli_app, ["migrate", "--db", sql_backend.url])
    assert migrated.exit_code == 0, migrated.output
    from tidings.storage.migrations.sqlite import MIGRATIONS

    assert migrated.stdout.strip() == f"schema version {len(MIGRATIONS)}"
    made = runner.invoke(
        cli_app,
        [
            "apps",
            "create",
            "--name",
            "Shop",
            "--platform",
            "ios",
            "--project",
            "Main",
            "--db",
            sql_backend.url,
        ],
    )
    assert made.exit_code == 0, made.output
    creds = orjson.loads(made.stdout)
    assert set(creds) == {"appId", "apiKeyPublic", "apiKeySecret", "writeKey"}
    second = runner.invoke(
        cli_app,
        [
            "apps",
            "create",
            "--name",
            "Shop2",
            "--platform",
            "android",
            "--project",
            "Main",
            "--db",
            sql_backend.url,
        ],
    )
    assert second.exit_code == 0, second.output
    token = runner.invoke(cli_app, ["tokens", "create", "--db", sql_backend.url])
    assert token.exit_code == 0, token.output

    async def check() -> None:
        async with await sql_backend.open() as store:
            assert len(await store.list_projects()) == 1  # the second app reused "Main"
            key = await store.signing_key(creds["apiKeyPublic"])
            assert key is not None and key.secret == creds["apiKeySecret"].encode()
            assert await store.verify_admin_token(token.stdout.strip())

    run(check())


def test_cli_reports_a_bad_url() -> None:
    result = CliRunner().invoke(cli_app, ["migrate", "--db", "mysql://nowhere/x"])
    assert result.exit_code == 2
    assert "db" in result.output


def test_open_store_finds_a_key_file_next_to_sqlite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TIDINGS_SECRET_KEY", raising=False)
    monkeypatch.delenv("TIDINGS_SECRET_KEY_FILE", raising=False)
    url = f"sqlite:///{tmp_path}/k.db"

    async def go() -> None:
        store = await open_store(url)
        project = await store.create_project("p")
        creds = await store.create_app(project.id, "a", "ios")
        await store.close()
        assert (tmp_path / "k.db.key").stat().st_mode & 0o777 == 0o600
        store = await open_store(url)  # same key file: the secret is still readable
        try:
            assert await reads_secret(store, creds)
        finally:
            await store.close()

    run(go())


batches_strategy = st.lists(
    st.lists(st.integers(min_value=0, max_value=30), min_size=0, max_size=12),
    min_size=1,
    max_size=6,
)


def test_ingest_is_idempotent_for_any_batches(sql_backend: Backend) -> None:
    """Whatever the overlap between batches, the log holds each id once, in first-seen order,
    and the accepted counts add up to the number of distinct ids."""

    @settings(max_examples=15, deadline=None)
    @given(batches=batches_strategy)
    def check(batches: list[list[int]]) -> None:
        async def go() -> None:
            async with await sql_backend.open() as store:
                project = await store.create_project("p")
                app = await store.create_app(project.id, "a", "ios")
                before = set(await stored_ids(store))
                accepted = 0
                for batch in batches:
                    result = await store.ingest(
                        app.app_id, [event(f"{app.app_id}-{i}") for i in batch], arrival_ms=T0
                    )
                    assert result.outcome is not None
                    accepted += result.outcome.accepted
                order: list[str] = []
                for batch in batches:
                    for i in batch:
                        if f"{app.app_id}-{i}" not in order:
                            order.append(f"{app.app_id}-{i}")
                new = [x for x in await stored_ids(store) if x not in before]
                assert new == order
                assert accepted == len(order)

        run(go())

    check()
