"""``tidings streams run | preview``: Pinpoint-format stream records from the event log.

``run`` drives one sink from a named consumer cursor of the event log (at least once, resumable:
stop it at any moment and start it again). ``preview`` prints the records an upload body
(``POST /api/v1/session``) would produce, one JSON object per line, without touching a database.
"""

from __future__ import annotations

import asyncio
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from tidings.cli.app import app
from tidings.core.errors import InvalidInput
from tidings.storage import DEFAULT_DB_URL, open_store
from tidings.streams.consumer import StreamConsumer
from tidings.streams.context import StreamContext
from tidings.streams.records import app_event_records, decision_record
from tidings.streams.sink import Sink

streams_app = typer.Typer(help="Pinpoint-format event streams.", no_args_is_help=True)
app.add_typer(streams_app, name="streams")


class SinkKind(StrEnum):
    jsonl = "jsonl"
    webhook = "webhook"
    nats = "nats"


def make_sink(
    kind: SinkKind,
    *,
    directory: Path | None,
    url: str | None,
    servers: str,
    state_dir: Path,
    max_bytes: int,
    max_age: float,
) -> Sink:
    """Build the chosen sink from command-line options (each kind needs its own target)."""
    if kind is SinkKind.jsonl:
        if directory is None:
            raise InvalidInput("--dir", "the jsonl sink needs an output directory")
        from tidings.streams.jsonl import JsonlSink

        return JsonlSink(directory, max_bytes=max_bytes, max_age_seconds=max_age)
    if kind is SinkKind.webhook:
        if url is None:
            raise InvalidInput("--url", "the webhook sink needs a URL")
        from tidings.streams.webhook import WebhookSink

        return WebhookSink(url, dead_letter_path=state_dir / "webhook-dead-letters.jsonl")
    from tidings.streams.nats import NatsSink

    return NatsSink(servers)


@streams_app.command("run")
def run(  # noqa: PLR0917 - one parameter per command-line option
    sink: Annotated[SinkKind, typer.Option(help="Where records go.")] = SinkKind.jsonl,
    db: Annotated[str, typer.Option(help="Database URL of the event log.")] = DEFAULT_DB_URL,
    cursor: Annotated[
        str | None, typer.Option(help="Consumer cursor name (default: stream:<sink>).")
    ] = None,
    directory: Annotated[
        Path | None, typer.Option("--dir", help="jsonl: root directory (one folder per app).")
    ] = None,
    url: Annotated[str | None, typer.Option(help="webhook: the receiver's URL.")] = None,
    servers: Annotated[str, typer.Option(help="nats: server URL.")] = "nats://127.0.0.1:4222",
    state_dir: Annotated[
        Path, typer.Option(help="webhook: where the dead-letter file is kept.")
    ] = Path("."),
    app_id: Annotated[
        list[str] | None, typer.Option("--app", help="Only these app ids (repeatable).")
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Log rows per batch.")] = 500,
    max_bytes: Annotated[int, typer.Option(min=1, help="jsonl: rotate at this size.")] = 64
    * 1024
    * 1024,
    max_age: Annotated[float, typer.Option(help="jsonl: rotate after this many seconds.")] = 300.0,
    follow: Annotated[
        bool, typer.Option("--follow/--once", help="Keep polling, or stop when caught up.")
    ] = False,
) -> None:
    """Stream the event log to a sink from a named cursor, then stop (or keep following)."""
    try:
        chosen = make_sink(
            sink,
            directory=directory,
            url=url,
            servers=servers,
            state_dir=state_dir,
            max_bytes=max_bytes,
            max_age=max_age,
        )
    except InvalidInput as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    name = cursor or f"stream:{sink.value}"

    async def main() -> None:
        store = await open_store(db)
        try:
            consumer = StreamConsumer(store, chosen, name, batch_size=batch_size, app_ids=app_id)
            if follow:
                await consumer.run_forever()
            else:
                stats = await consumer.run_until_idle()
                position = await store.get_cursor(name)
                typer.echo(
                    f"{name}: {stats.rows} log rows, {stats.records} records, "
                    f"{len(stats.skipped)} skipped, cursor at {position}"
                )
        finally:
            await store.close()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
    finally:
        chosen.close()


def preview_upload(body: Any, app_id: str, arrival_ms: int | None) -> list[dict[str, Any]]:
    """The records of one upload body, events first then decisions (the server's order).

    Without an arrival time, the newest event timestamp stands in for it.
    """
    if not isinstance(body, dict):
        raise InvalidInput("", "an upload body must be a JSON object")
    if arrival_ms is None:
        stamps = [e.get("timestamp") for e in body.get("events") or [] if isinstance(e, dict)]
        arrival_ms = max((s for s in stamps if type(s) is int), default=0)
    device = body.get("device")
    if not isinstance(device, dict):
        raise InvalidInput("device", "must be a JSON object")
    for key in ("sessions", "events", "decisions"):
        if not isinstance(body.get(key) or [], list):
            raise InvalidInput(key, "must be an array")
    sessions = body.get("sessions") or []
    ctx = StreamContext.from_upload(app_id, device, body.get("user") or {}, sessions)
    records: list[dict[str, Any]] = []
    for index, event in enumerate(body.get("events") or []):
        try:
            records.extend(app_event_records(event, ctx, arrival_ms))
        except InvalidInput as exc:
            raise InvalidInput(f"events[{index}].{exc.field}", exc.reason) from exc
    for index, decision in enumerate(body.get("decisions") or []):
        try:
            records.append(decision_record(decision, ctx, arrival_ms))
        except InvalidInput as exc:
            raise InvalidInput(f"decisions[{index}].{exc.field}", exc.reason) from exc
    return records


@streams_app.command("preview")
def preview(
    file: Annotated[Path, typer.Argument(help="An upload body (JSON); '-' reads stdin.")],
    app_id: Annotated[str, typer.Option("--app", help="The app id to stamp on records.")],
    arrival: Annotated[
        int | None, typer.Option(help="Arrival time, epoch ms (default: the last event's).")
    ] = None,
) -> None:
    """Print the stream records an upload would produce, one JSON object per line."""
    try:
        raw = sys.stdin.buffer.read() if str(file) == "-" else file.read_bytes()
        records = preview_upload(orjson.loads(raw), app_id, arrival)
    except OSError as exc:
        typer.echo(f"{file}: cannot read file: {exc.strerror or exc}", err=True)
        raise typer.Exit(code=2) from exc
    except orjson.JSONDecodeError as exc:
        typer.echo(f"{file}: not valid JSON: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    except InvalidInput as exc:
        typer.echo(f"{file}: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    out = sys.stdout.buffer
    for record in records:
        out.write(orjson.dumps(record) + b"\n")
    out.flush()
