"""One database, one server key: the key's fingerprint is kept in the database and checked at
every open, and the default key file does not depend on the current folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from storage_support import SERVER_KEY, Backend, new_app, reads_secret, run

from tidings.storage import OpenError, ServerKeyMismatch, display_url, open_store
from tidings.storage.serverkey import (
    INSTALLATION_COLLECTION,
    SERVER_KEY_DOCUMENT,
    fingerprint,
    postgres_key_file,
)


@pytest.fixture
def no_key_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No key in the environment; the per-user config folder is a fresh one."""
    monkeypatch.delenv("TIDINGS_SECRET_KEY", raising=False)
    monkeypatch.delenv("TIDINGS_SECRET_KEY_FILE", raising=False)
    config = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    return config


def test_another_key_is_refused_at_open_naming_both_fingerprints(sql_backend: Backend) -> None:
    async def go() -> None:
        async with await sql_backend.open():
            pass
        other = os.urandom(32)
        with pytest.raises(ServerKeyMismatch) as caught:
            await sql_backend.open(server_key=other)
        message = str(caught.value)
        assert fingerprint(SERVER_KEY) in message and fingerprint(other) in message
        assert "TIDINGS_SECRET_KEY" in message and "--key-file" in message
        assert "\n" not in message
        async with await sql_backend.open():  # the right key still opens it
            pass

    run(go())


def test_a_database_from_before_fingerprints_is_checked_against_its_secrets(
    sql_backend: Backend,
) -> None:
    async def go() -> None:
        async with await sql_backend.open() as store:
            creds = await new_app(store)
            await store.delete_document(INSTALLATION_COLLECTION, SERVER_KEY_DOCUMENT)
        with pytest.raises(ServerKeyMismatch, match="sealed with another key"):
            await sql_backend.open(server_key=os.urandom(32))
        async with await sql_backend.open() as store:  # the right key: adopted and remembered
            doc = await store.get_document(INSTALLATION_COLLECTION, SERVER_KEY_DOCUMENT)
            assert doc is not None and doc.body == {"fingerprint": fingerprint(SERVER_KEY)}
            assert await reads_secret(store, creds)

    run(go())


def test_postgres_key_is_shared_by_every_folder(
    postgres_backend: Backend, no_key_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bug: a command run from another folder made a second key and sealed with it."""
    sql_backend = postgres_backend
    first, second = tmp_path / "here", tmp_path / "elsewhere"
    first.mkdir()
    second.mkdir()
    notes: list[str] = []

    async def go() -> None:
        monkeypatch.chdir(first)
        store = await open_store(sql_backend.url, notify=notes.append)
        creds = await new_app(store)
        await store.close()
        monkeypatch.chdir(second)
        store = await open_store(sql_backend.url)
        try:
            assert await reads_secret(store, creds)
        finally:
            await store.close()

    run(go())
    key_file = postgres_key_file()
    assert key_file == no_key_env / "tidings" / "server.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert notes == [
        f"created server key file {key_file} (keep it: {display_url(sql_backend.url)} needs it)"
    ]
    assert not list(first.iterdir()) and not list(second.iterdir())


def test_no_key_file_for_a_database_that_has_a_key_is_an_error_not_a_new_key(
    sql_backend: Backend, no_key_env: Path, tmp_path: Path
) -> None:
    async def go() -> None:
        async with await sql_backend.open():  # the database's key is SERVER_KEY, given in code
            pass
        with pytest.raises(ServerKeyMismatch, match="no server key for") as caught:
            await open_store(sql_backend.url)
        assert fingerprint(SERVER_KEY) in str(caught.value)

    run(go())
    default = Path(f"{sql_backend.path}.key") if sql_backend.path else postgres_key_file()
    assert not default.exists()
    key_file = tmp_path / "given.key"
    key_file.write_text(SERVER_KEY.hex())

    async def with_file() -> None:
        store = await open_store(sql_backend.url, key_file=key_file)
        await store.close()

    run(with_file())


def test_a_missing_sqlite_database_is_created_only_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "typo.db"
    notes: list[str] = []

    async def go() -> None:
        with pytest.raises(OpenError, match=f"no database at {path}"):
            await open_store(f"sqlite:///{path}", server_key=SERVER_KEY, create=False)
        assert not path.exists()
        store = await open_store(f"sqlite:///{path}", server_key=SERVER_KEY, notify=notes.append)
        await store.close()
        store = await open_store(f"sqlite:///{path}", server_key=SERVER_KEY, create=False)
        await store.close()

    run(go())
    assert notes == [f"created new database at {path}"]


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "postgresql://app:s3cret@db:5432/t?sslmode=require",
            "postgresql://app@db:5432/t?sslmode=require",
        ),
        ("postgres://db/t?password=s3cret&schema=x", "postgres://db/t?schema=x"),
        ("sqlite:////var/t.db", "sqlite:////var/t.db"),
    ],
)
def test_display_url_hides_the_password(url: str, shown: str) -> None:
    assert display_url(url) == shown


def test_an_unreachable_database_is_one_line_without_the_password() -> None:
    async def go() -> None:
        with pytest.raises(OpenError) as caught:
            await open_store("postgresql://app:s3cret@127.0.0.1:1/t", server_key=SERVER_KEY)
        message = str(caught.value)
        assert message.startswith("cannot open postgresql://app@127.0.0.1:1/t: ")
        assert "s3cret" not in message and "\n" not in message

    run(go())
