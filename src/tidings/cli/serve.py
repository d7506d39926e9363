"""``tidings serve``: the HTTP server (Starlette on uvicorn).

On a database without apps (first start) it prints how to create one, and how to get an admin
token, before it starts listening.
"""

from __future__ import annotations

import asyncio
import gc
from typing import Annotated

import typer

from tidings.cli.app import app
from tidings.core.errors import InvalidConfig
from tidings.server.connections import ConnectionLimits, run_server
from tidings.storage import DEFAULT_DB_URL, open_store
from tidings.storage.base import StoreError


async def _prepare(db: str) -> int:
    """Open (create, migrate) the database once and count its apps."""
    store = await open_store(db)
    try:
        return len(await store.list_apps())
    finally:
        await store.close()


LIMITS = ConnectionLimits()

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
    flag = "" if db == DEFAULT_DB_URL else f" --db '{db}'"
    return (
        f"No applications yet in {db}.\n"
        f"  create one:        tidings apps create --name 'My app' --platform ios{flag}\n"
        f"  admin API token:   tidings tokens create{flag}\n"
    )


@app.command("serve")
def serve(  # noqa: PLR0917 - one parameter per command-line option
    db: Annotated[
        str,
        typer.Option(
            "--db", envvar="TIDINGS_DB", help="Database URL (sqlite:///... or postgresql://...)."
        ),
    ] = DEFAULT_DB_URL,
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
        float, typer.Option("--header-timeout", help="Seconds a request's headers may take.")
    ] = LIMITS.header_timeout_s,
    body_timeout: Annotated[
        float, typer.Option("--body-timeout", help="Seconds a request's body may take.")
    ] = LIMITS.body_timeout_s,
    idle_timeout: Annotated[
        float,
        typer.Option("--idle-timeout", help="Seconds a kept-alive connection may wait idle."),
    ] = LIMITS.idle_timeout_s,
    max_connections: Annotated[
        int,
        typer.Option("--max-connections", help="Open connections at most (503 past it)."),
    ] = LIMITS.max_connections,
) -> None:
    """Serve the device API, Segment sources, admin API and cohort import."""
    from tidings.server.app import create_app_for_url

    try:
        apps = asyncio.run(_prepare(db))
    except (InvalidConfig, StoreError, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    if apps == 0:
        typer.echo(first_start_hint(db))
    if port:
        typer.echo(f"dashboard: http://{host}:{port}/ (sign in with an admin token)")
    tune_gc()
    limits = ConnectionLimits(header_timeout, body_timeout, idle_timeout, max_connections)
    run_server(create_app_for_url(db, pipeline=pipeline), host, port, limits, log_level, access_log)
