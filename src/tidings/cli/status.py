"""``tidings status``: the event log's end, its partitions, the pipeline processes sharing it,
and for every consumer and partition its position, lag and owner."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from tidings.cli.app import app
from tidings.cli.database import DEFAULT_DB, DbOption, KeyFileOption, LogOption, run_on_database

if TYPE_CHECKING:
    from tidings.storage import Store
    from tidings.storage.logstatus import LogStatus


def render_status(status: LogStatus) -> str:
    """The status as a few aligned lines (what the command prints)."""
    lines = [
        f"log end {status.last_seq}, {status.partitions} partition(s),"
        f" {len(status.members)} pipeline process(es)"
    ]
    lines += [f"  member {m}" for m in status.members]
    lines.append(f"{'consumer':<40} {'part':>4} {'position':>12} {'lag':>10}  owner")
    for c in status.cursors:
        part = "-" if c.partition is None else str(c.partition)
        lines.append(
            f"{c.consumer:<40} {part:>4} {c.position:>12} {c.lag:>10}  {c.owner or '(none)'}"
        )
    return "\n".join(lines)


@app.command("status")
def status(
    db: DbOption = DEFAULT_DB, key_file: KeyFileOption = None, log: LogOption = None
) -> None:
    """Show the event log's partitions, the processes sharing them, and each consumer's
    position, lag and owner."""
    from tidings.storage.logstatus import log_status

    async def work(store: Store) -> LogStatus:
        return await log_status(store)

    typer.echo(render_status(run_on_database(db, key_file, work, log=log)))
