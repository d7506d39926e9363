"""``tidings streams tail``: print stream records live, one JSON object per line, as stored.

A tail is a reader, not a consumer: it keeps its position in memory and never commits a cursor,
so watching the stream cannot disturb a sink. It starts at the end of the log (only what arrives
from now on) unless ``--from-start``; ``--app`` (repeatable) keeps only those apps' records.
A line on stderr says where it started, so a script can wait for it before producing events.

``tidings stream tail``, its first name, still works for one release; it is hidden from the help.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

import orjson
import typer

from tidings.cli.app import app
from tidings.cli.database import (
    DEFAULT_DB,
    DbOption,
    KeyFileOption,
    LogOption,
    run_on_database,
)
from tidings.cli.streams import streams_app

if TYPE_CHECKING:
    from tidings.storage import Store

old_stream_app = typer.Typer(help="Old name of 'tidings streams tail'.", no_args_is_help=True)
app.add_typer(old_stream_app, name="stream", hidden=True)

BATCH = 500


@old_stream_app.callback()
def _stream() -> None:
    """Old name of 'tidings streams tail'."""


async def tail_records(
    store: Store,
    *,
    app_ids: Sequence[str] = (),
    from_start: bool = False,
    limit: int | None = None,
    idle_seconds: float = 1.0,
) -> int:
    """Write records to stdout as the log grows; returns after ``limit`` records (or never)."""
    from tidings.core.errors import InvalidInput
    from tidings.streams.accounts import AccountIds
    from tidings.streams.fromlog import records_from_row

    wanted = frozenset(app_ids)
    after = 0 if from_start else await store.last_seq()
    sys.stderr.write(f"tailing from log position {after}\n")
    sys.stderr.flush()
    out = sys.stdout.buffer
    written = 0
    accounts = AccountIds(store)
    while limit is None or written < limit:
        rows = await store.read_log(after, BATCH)
        if not rows:
            await store.wait_for_append(after, idle_seconds)
            continue
        known = await accounts.of(r.app_id for r in rows if not wanted or r.app_id in wanted)
        for row in rows:
            if wanted and row.app_id not in wanted:
                continue
            try:
                records = records_from_row(row, known.get(row.app_id))
            except InvalidInput as exc:
                sys.stderr.write(f"log row {row.seq} skipped: {exc}\n")
                continue
            for record in records:
                out.write(orjson.dumps(record) + b"\n")
                written += 1
                if limit is not None and written >= limit:
                    break
            if limit is not None and written >= limit:
                break
        out.flush()
        after = rows[-1].seq
    return written


@streams_app.command("tail")
@old_stream_app.command("tail")
def tail(  # noqa: PLR0917 - one parameter per command-line option
    app_id: Annotated[
        list[str] | None, typer.Option("--app", help="Only this app's records (repeatable).")
    ] = None,
    db: DbOption = DEFAULT_DB,
    key_file: KeyFileOption = None,
    log: LogOption = None,
    from_start: Annotated[
        bool, typer.Option("--from-start", help="Print the whole stored log first.")
    ] = False,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="Stop after this many records.")
    ] = None,
) -> None:
    """Print stream records as they are stored, one JSON object per line (Ctrl-C stops)."""

    async def work(store: Store) -> None:
        await tail_records(store, app_ids=app_id or (), from_start=from_start, limit=limit)

    try:
        run_on_database(db, key_file, work, log=log)
    except KeyboardInterrupt:
        pass
    except BrokenPipeError:
        # The reader went away (``| head``): that is the end of the tail, not an error.
        sys.stderr.close()
