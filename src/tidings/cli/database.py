"""The one place where commands open the database, and the options that say which one.

Every command that works on a database opens it through :func:`open_database`, so every one of
them reports the same way when it cannot: one line on stderr (``error: cannot open
postgresql://app@db.internal/tidings: ...``, never a password, never a traceback) and exit
status 2. Only ``tidings serve`` and ``tidings migrate`` may create a new SQLite database (and
say so, with its absolute path); the others refuse a path where no database is, which is how a
mistyped ``--db`` shows itself instead of answering from an empty database.

Nothing heavy is imported at module level: ``tidings --help`` loads every command module.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

if TYPE_CHECKING:
    from tidings.storage import Store

T = TypeVar("T")

DEFAULT_DB = "sqlite:///./tidings.db"
"""The database commands use without ``--db`` or ``TIDINGS_DB`` (storage's ``DEFAULT_DB_URL``)."""

DbOption = Annotated[
    str,
    typer.Option(
        "--db",
        envvar="TIDINGS_DB",
        help="Database URL: sqlite:///path/to.db or postgresql://user@host/dbname.",
    ),
]
LogOption = Annotated[
    str | None,
    typer.Option(
        "--log",
        envvar="TIDINGS_LOG",
        help=(
            "Put the event log on NATS JetStream: nats://h1:4222,h2:4222?partitions=16 "
            "(the database keeps everything else). Default: the log is in the database."
        ),
        show_default=False,
    ),
]
KeyFileOption = Annotated[
    Path | None,
    typer.Option(
        "--key-file",
        help=(
            "The server key that seals API secrets; every process of one database needs the "
            "same. Default: $TIDINGS_SECRET_KEY, $TIDINGS_SECRET_KEY_FILE, else <db>.key beside "
            "a SQLite file and ~/.config/tidings/server.key for PostgreSQL."
        ),
        show_default=False,
    ),
]


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print ``error: message`` on stderr; the caller raises the returned exit."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _notice(message: str) -> None:
    typer.echo(message, err=True)


async def open_database(
    db: str, key_file: Path | None = None, *, create: bool = False, log: str | None = None
) -> Store:
    """Open ``db`` (and the ``log``, when given) for a command; any reason it cannot be opened
    exits 2 with one line."""
    from tidings.core.errors import InvalidConfig
    from tidings.storage import StoreError, open_store

    try:
        if log:  # a wrong --log is reported before anything is created
            from tidings.storage.jetstream import parse_log_url

            parse_log_url(log)
        store = await open_store(db, key_file=key_file, create=create, notify=_notice, log=log)
    except InvalidConfig as exc:
        option = "--log" if exc.field.startswith("log") else "--db"
        raise fail(f"{option}: {exc}" if option == "--log" else f"--db: {exc.reason}") from None
    except StoreError as exc:
        raise fail(str(exc)) from None
    if not log:
        await _warn_without_log(store)
    return store


async def _warn_without_log(store: Store) -> None:
    """Say so when the database's consumers run on a partitioned log but no ``--log`` was given:
    the command would see the database's own log, which is not where the events are (a
    destination added so would start at its position 0 and replay the whole stream)."""
    from tidings.core.partitions import split_cursor

    try:
        names = await store.list_cursors()
    except Exception:  # a store that cannot answer is reported by what the command does next
        return
    if any(split_cursor(name)[1] is not None for name in names):
        _notice(
            "warning: this database's consumers run on a partitioned event log (cursors "
            "<name>@p<n>); without --log or TIDINGS_LOG this command sees the database's own log"
        )


def run_on_database(
    db: str,
    key_file: Path | None,
    work: Callable[[Store], Awaitable[T]],
    *,
    create: bool = False,
    log: str | None = None,
) -> T:
    """Open the database, run ``work`` on it and close it.

    Bad input (:class:`InvalidInput`, an admin API refusal) and storage failures become one
    line and exit 2; a missing entity exits 1.
    """
    from tidings.core.errors import InvalidInput
    from tidings.storage import NotFoundError, StoreError

    async def main() -> T:
        store = await open_database(db, key_file, create=create, log=log)
        try:
            return await work(store)
        finally:
            await store.close()

    try:
        return asyncio.run(main())
    except InvalidInput as exc:
        raise fail(str(exc)) from None
    except NotFoundError as exc:
        raise fail(str(exc), 1) from None
    except StoreError as exc:
        raise fail(str(exc)) from None
