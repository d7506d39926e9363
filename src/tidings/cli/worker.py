"""``tidings worker [--db URL]``: run the pipeline (destinations, streams) without HTTP.

For deployments that want delivery in processes of their own, next to (or instead of) the
pipeline inside ``tidings serve``. Any number of workers may share one database: each consumer
cursor and each destination sender is held by one process at a time through leases, and a
worker that dies hands its work over once its leases expire.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tidings.cli.app import app
from tidings.cli.database import (
    DEFAULT_DB,
    DbOption,
    KeyFileOption,
    LogOption,
    fail,
    open_database,
)
from tidings.cli.serve import tune_gc

if TYPE_CHECKING:
    from tidings.pipeline import PipelineSettings


async def run_worker(
    db: str,
    *,
    settings: PipelineSettings | None = None,
    key_file: Path | None = None,
    stop: asyncio.Event | None = None,
    log: str | None = None,
) -> None:
    """Open the store, run the pipeline until ``stop`` (or SIGINT/SIGTERM), close cleanly."""
    from tidings.pipeline import start_pipeline

    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    store = await open_database(db, key_file, log=log)
    try:
        runner = await start_pipeline(store, settings)
        try:
            await stop.wait()
        finally:
            await runner.stop()
    finally:
        await store.close()


@app.command("worker")
def worker(  # noqa: PLR0917 - one parameter per command-line option
    db: DbOption = DEFAULT_DB,
    key_file: KeyFileOption = None,
    log: LogOption = None,
    lease_ms: Annotated[
        int,
        typer.Option(
            "--lease-ms", help="How long a dead worker's work stays reserved before takeover."
        ),
    ] = 15_000,
    batch_size: Annotated[
        int,
        typer.Option(
            "--batch-size",
            help="Amplitude: events per request; the outbox sends when this many are due.",
        ),
    ] = 1000,
    batch_wait_ms: Annotated[
        int, typer.Option("--batch-wait-ms", help="Amplitude: or when the oldest waited this long.")
    ] = 1000,
    log_level: Annotated[str, typer.Option("--log-level", help="Python log level.")] = "info",
) -> None:
    """Run event-log consumers and destination senders until interrupted."""
    from tidings.destinations.kind import BatchPolicy
    from tidings.pipeline import PipelineSettings
    from tidings.pipeline.delivery import DirectOptions, SenderOptions

    if batch_size < 1 or batch_wait_ms < 0:
        raise typer.BadParameter("must be positive", param_hint="--batch-size/--batch-wait-ms")
    settings = PipelineSettings(
        lease_ms=lease_ms,
        delivery=SenderOptions(
            batch=BatchPolicy(batch_size, batch_wait_ms),
            max_request_events=min(batch_size, 1000),
            direct=DirectOptions(chunk_events=min(batch_size, 500)),
        ),
    )
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    from tidings.storage import StoreError, display_url

    typer.echo(f"tidings worker on {display_url(db)} (Ctrl-C to stop)", err=True)
    tune_gc()
    try:
        asyncio.run(run_worker(db, settings=settings, key_file=key_file, log=log))
    except StoreError as exc:
        raise fail(str(exc)) from None
