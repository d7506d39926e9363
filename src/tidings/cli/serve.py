"""``tidings serve``: the HTTP server (Starlette on uvicorn).

On a database without apps (first start) it prints how to create one, and how to get an admin
token, before it starts listening.
"""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING, Annotated

import typer

from tidings.cli.app import app
from tidings.cli.database import DEFAULT_DB, DbOption, KeyFileOption, LogOption, run_on_database

if TYPE_CHECKING:
    from tidings.storage import Store


GC_YOUNG_THRESHOLD = 20_000
"""Allocations between young-generation collections (Python's default is 700)."""


def tune_gc() -> None:
    """Make the garbage collector cheap for a long-running server.

    Each request allocates thousands of short-lived containers (parsed JSON), which reference
    counting frees; the cycle collector only needs to find the rare cycle. With Python's
    defaults it also ran a young collection every 700 allocations and a full one, walking
    every live object, every few dozen requests: about a fifth of the server's CPU under load.
    Objects alive at start-up (modules, the app) are frozen out of collection altogether.
    """
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, 20, 20)


def first_start_hint(db: str) -> str:
    """What to do next on an empty database (the URL without its password: logs keep this)."""
    from tidings.storage import display_url

    shown = display_url(db)
    flag = "" if db == DEFAULT_DB else f" --db '{shown}'"
    return (
        f"No applications yet in {shown}.\n"
        f"  create one:        tidings apps create --name 'My app' --platform ios{flag}\n"
        f"  admin API token:   tidings tokens create{flag}\n"
    )


@app.command("serve")
def serve(  # noqa: PLR0917 - one parameter per command-line option
    db: DbOption = DEFAULT_DB,
    key_file: KeyFileOption = None,
    log: LogOption = None,
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port (0 picks a free one).")] = 8000,
    log_level: Annotated[str, typer.Option("--log-level", help="uvicorn log level.")] = "info",
    access_log: Annotated[
        bool, typer.Option("--access-log/--no-access-log", help="Log every request.")
    ] = True,
    pipeline: Annotated[
        bool,
        typer.Option(
            "--pipeline/--no-pipeline",
            help="Run the event-log consumers (destinations, streams) in this process.",
        ),
    ] = True,
    header_timeout: Annotated[
        float | None,
        typer.Option("--header-timeout", help="Seconds a request's headers may take [10]."),
    ] = None,
    body_timeout: Annotated[
        float | None,
        typer.Option("--body-timeout", help="Seconds a request's body may take [60]."),
    ] = None,
    idle_timeout: Annotated[
        float | None,
        typer.Option("--idle-timeout", help="Seconds a kept-alive connection may wait idle [5]."),
    ] = None,
    max_connections: Annotated[
        int | None,
        typer.Option("--max-connections", help="Open connections at most, 503 past it [10000]."),
    ] = None,
) -> None:
    """Serve the device API, Segment sources, admin API and cohort import.

    A new SQLite database (and its key file) is created on first start.
    """

    async def count_apps(store: Store) -> int:
        return len(await store.list_apps())

    # Opened once here (created, migrated, its key checked) so that a problem is one line now,
    # not a traceback from inside the server's start-up.
    apps = run_on_database(db, key_file, count_apps, create=True, log=log)

    from tidings.server.app import create_app_for_url
    from tidings.server.connections import ConnectionLimits, run_server

    # The defaults live in ConnectionLimits (the help repeats them: the server is not imported
    # to print the help).
    base = ConnectionLimits()
    limits = ConnectionLimits(
        header_timeout_s=base.header_timeout_s if header_timeout is None else header_timeout,
        body_timeout_s=base.body_timeout_s if body_timeout is None else body_timeout,
        idle_timeout_s=base.idle_timeout_s if idle_timeout is None else idle_timeout,
        max_connections=base.max_connections if max_connections is None else max_connections,
    )

    if apps == 0:
        typer.echo(first_start_hint(db))
    if port:
        typer.echo(f"dashboard: http://{host}:{port}/ (sign in with an admin token)")
    tune_gc()
    app = create_app_for_url(db, pipeline=pipeline, key_file=key_file, log=log)
    run_server(app, host, port, limits, log_level, access_log)
