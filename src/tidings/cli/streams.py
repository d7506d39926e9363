"""``tidings streams``: Pinpoint-format stream records from the event log.

``add | list | remove | pause | resume`` manage the sinks the pipeline runs inside ``tidings serve``
(the same documents and checks as ``/admin/api/streams``). ``run`` drives one ad-hoc sink from a
named consumer cursor of the event log (at least once, resumable: stop it at any moment and start
it again). ``preview`` prints the records an upload body
(``POST /api/v1/session``) would produce, one JSON object per line, without touching a database.
``tail`` (:mod:`tidings.cli.stream_tail`) prints records live as they are stored.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Awaitable, Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import orjson
import typer

from tidings.cli.app import app
from tidings.cli.database import (
    DEFAULT_DB,
    DbOption,
    KeyFileOption,
    LogOption,
    fail,
    run_on_database,
)

if TYPE_CHECKING:
    from tidings.storage import Store
    from tidings.streams.sink import Sink

T = TypeVar("T")

streams_app = typer.Typer(help="Pinpoint-format event streams.", no_args_is_help=True)
app.add_typer(streams_app, name="streams")


class SinkKind(StrEnum):
    jsonl = "jsonl"
    webhook = "webhook"
    nats = "nats"


def need_target(kind: SinkKind, *, directory: Path | None, url: str | None) -> None:
    """Each kind of sink needs its own target flag."""
    if kind is SinkKind.jsonl and directory is None:
        raise fail("--dir is required for --sink jsonl")
    if kind is SinkKind.webhook and url is None:
        raise fail("--url is required for --sink webhook")


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
    """Build the chosen sink from command-line options (:func:`need_target` checked them)."""
    if kind is SinkKind.jsonl:
        assert directory is not None
        from tidings.streams.jsonl import JsonlSink

        return JsonlSink(directory, max_bytes=max_bytes, max_age_seconds=max_age)
    if kind is SinkKind.webhook:
        assert url is not None
        from tidings.streams.webhook import WebhookSink

        return WebhookSink(url, dead_letter_path=state_dir / "webhook-dead-letters.jsonl")
    from tidings.streams.nats import NatsSink

    return NatsSink(servers)


@streams_app.command("run")
def run(  # noqa: PLR0917 - one parameter per command-line option
    sink: Annotated[SinkKind, typer.Option(help="Where records go.")] = SinkKind.jsonl,
    db: DbOption = DEFAULT_DB,
    key_file: KeyFileOption = None,
    log: LogOption = None,
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
    from tidings.streams.accounts import AccountIds
    from tidings.streams.consumer import StreamConsumer

    need_target(sink, directory=directory, url=url)
    name = cursor or f"stream:{sink.value}"

    async def work(store: Store) -> None:
        # Made once the database is open: a sink may create its directory.
        chosen = make_sink(
            sink,
            directory=directory,
            url=url,
            servers=servers,
            state_dir=state_dir,
            max_bytes=max_bytes,
            max_age=max_age,
        )
        try:
            consumer = StreamConsumer(
                store,
                chosen,
                name,
                batch_size=batch_size,
                app_ids=app_id,
                accounts=AccountIds(store),
            )
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
            chosen.close()

    with contextlib.suppress(KeyboardInterrupt):
        run_on_database(db, key_file, work, log=log)


def preview_upload(
    body: Any, app_id: str, arrival_ms: int | None, aws_account_id: str | None = None
) -> list[dict[str, Any]]:
    """The records of one upload body, events first then decisions (the server's order).

    Without an arrival time, the newest event timestamp stands in for it; without an account
    id, campaign records have no ``awsAccountId`` (the server stamps the project's).
    """
    from tidings.core.errors import InvalidInput
    from tidings.streams.context import StreamContext
    from tidings.streams.records import app_event_records, decision_record

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
    ctx = StreamContext.from_upload(
        app_id, device, body.get("user") or {}, sessions, aws_account_id=aws_account_id
    )
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
    aws_account_id: Annotated[
        str | None,
        typer.Option("--aws-account-id", help="awsAccountId of campaign records (the project's)."),
    ] = None,
) -> None:
    """Print the stream records an upload would produce, one JSON object per line."""
    from tidings.core.errors import InvalidInput

    try:
        raw = sys.stdin.buffer.read() if str(file) == "-" else file.read_bytes()
        records = preview_upload(orjson.loads(raw), app_id, arrival, aws_account_id)
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


# --------------------------------------------------------------------------- configured sinks

FLAGS = {
    "kind": "--kind",
    "appIds": "--app",
    "name": "--name",
    "settings.directory": "--dir",
    "settings.maxBytes": "--max-bytes",
    "settings.maxAgeSeconds": "--max-age",
    "settings.url": "--url",
    "settings.headers": "--header",
    "settings.servers": "--server",
    "settings.streamPrefix": "--stream-prefix",
    "settings.subjectPrefix": "--subject-prefix",
}
"""The sink document's fields, by the command-line flag that sets each."""


def flag_message(field: str, reason: str, kind: str) -> str:
    """An error about a sink document field, told in terms of the flag that sets it.

    ``settings.directory: is required`` becomes ``--dir is required for --kind jsonl``.
    """
    flag = FLAGS.get(field.partition("[")[0])
    if flag is None:
        return f"{field}: {reason}" if field else reason
    if reason.startswith("is required"):
        return f"{flag} is required for --kind {kind}"
    return f"{flag}: {reason}"


def _with_store(
    db: str,
    key_file: Path | None,
    work: Callable[[Store], Awaitable[T]],
    kind: str = "",
    log: str | None = None,
) -> T:
    """Run ``work`` on the database (and the ``log`` on JetStream, where it is: a new sink's
    cursors start at its end); a refused sink document is reported by its flags."""
    from tidings.core.errors import InvalidInput
    from tidings.server.errors import ApiError

    async def checked(store: Store) -> T:
        try:
            return await work(store)
        except InvalidInput as exc:
            raise fail(flag_message(exc.field, exc.reason, kind)) from None

    try:
        return run_on_database(db, key_file, checked, log=log)
    except ApiError as exc:
        raise fail(exc.message) from None


def _headers(values: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in values:
        name, sep, rest = value.partition(":")
        if not sep:
            raise fail(f"--header: expected 'Name: value', not {value!r}")
        out[name.strip()] = rest.strip()
    return out


def sink_body(  # noqa: PLR0917 - one parameter per command-line option
    kind: SinkKind,
    app_ids: list[str],
    directory: str | None,
    max_bytes: int | None,
    max_age: float | None,
    url: str | None,
    headers: list[str],
    servers: list[str],
    stream_prefix: str | None,
    subject_prefix: str | None,
) -> dict[str, Any]:
    """The sink document the options describe (checked by the same rules as the admin API)."""
    settings: dict[str, Any]
    if kind is SinkKind.jsonl:
        settings = {"directory": directory, "maxBytes": max_bytes, "maxAgeSeconds": max_age}
    elif kind is SinkKind.webhook:
        settings = {"url": url, "headers": _headers(headers)}
    else:
        settings = {
            "servers": servers or None,
            "streamPrefix": stream_prefix,
            "subjectPrefix": subject_prefix,
        }
    return {
        "kind": kind.value,
        "appIds": app_ids,
        "settings": {k: v for k, v in settings.items() if v is not None},
    }


@streams_app.command("add")
def add(  # noqa: PLR0917 - one parameter per command-line option
    kind: Annotated[SinkKind, typer.Option("--kind", help="The sink kind.")],
    app_id: Annotated[list[str], typer.Option("--app", help="An app id (repeatable).")],
    directory: Annotated[
        str | None, typer.Option("--dir", help="jsonl: root directory (one folder per app).")
    ] = None,
    max_bytes: Annotated[int | None, typer.Option(help="jsonl: rotate at this size.")] = None,
    max_age: Annotated[
        float | None, typer.Option(help="jsonl: rotate after this many seconds.")
    ] = None,
    url: Annotated[str | None, typer.Option(help="webhook: the receiver's URL.")] = None,
    header: Annotated[
        list[str] | None, typer.Option(help="webhook: 'Name: value' header (repeatable).")
    ] = None,
    servers: Annotated[
        list[str] | None, typer.Option("--server", help="nats: server URL (repeatable).")
    ] = None,
    stream_prefix: Annotated[str | None, typer.Option(help="nats: stream name prefix.")] = None,
    subject_prefix: Annotated[str | None, typer.Option(help="nats: subject prefix.")] = None,
    name: Annotated[str | None, typer.Option(help="A label for the sink.")] = None,
    from_start: Annotated[
        bool, typer.Option("--from-start", help="Stream the whole stored log, not only new events.")
    ] = False,
    db: DbOption = DEFAULT_DB,
    key_file: KeyFileOption = None,
    log: LogOption = None,
) -> None:
    """Add a sink that the pipeline (tidings serve / worker) keeps fed; prints it as JSON."""
    from tidings.server.admin_streams import add_stream, new_stream_id, position_of, stream_json

    async def work(store: Store) -> dict[str, Any]:
        body = sink_body(
            kind,
            app_id,
            directory,
            max_bytes,
            max_age,
            url,
            header or [],
            servers or [],
            stream_prefix,
            subject_prefix,
        )
        if name is not None:
            body["name"] = name
        body["startAt"] = "beginning" if from_start else "now"
        doc = await add_stream(store, body, new_stream_id())
        return stream_json(doc, await position_of(store, doc))

    typer.echo(orjson.dumps(_with_store(db, key_file, work, kind.value, log)).decode())


@streams_app.command("list")
def list_sinks(
    app_id: Annotated[str | None, typer.Option("--app", help="Only sinks of this app.")] = None,
    db: DbOption = DEFAULT_DB,
    key_file: KeyFileOption = None,
    log: LogOption = None,
) -> None:
    """List the configured sinks, one JSON object per line, with their cursor position."""
    from tidings.server.admin_streams import stream_json
    from tidings.storage.consumercursors import consumer_position
    from tidings.streams.sinkconfig import STREAMS_COLLECTION, cursor_name

    async def work(store: Store) -> list[dict[str, Any]]:
        cursors = await store.list_cursors()
        return [
            stream_json(doc, consumer_position(cursors, cursor_name(doc.id), store.partitions))
            for doc in await store.list_documents(STREAMS_COLLECTION)
            if app_id is None or app_id in doc.body.get("appIds", ())
        ]

    for item in _with_store(db, key_file, work, log=log):
        typer.echo(orjson.dumps(item).decode())


def _change(
    db: str, key_file: Path | None, sink_id: str, action: str, log: str | None
) -> dict[str, Any]:
    from tidings.server.admin_streams import remove_stream, set_enabled, stream_json
    from tidings.streams.sinkconfig import STREAMS_COLLECTION

    async def work(store: Store) -> dict[str, Any]:
        doc = await store.get_document(STREAMS_COLLECTION, sink_id)
        if doc is None:
            raise fail(f"no stream {sink_id!r}", 1)
        if action == "remove":
            await remove_stream(store, doc)
            return {"id": doc.id, "deleted": True}
        return stream_json(await set_enabled(store, doc, action == "resume"))

    return _with_store(db, key_file, work, log=log)


@streams_app.command("remove")
def remove(
    sink_id: Annotated[str, typer.Argument(help="The sink id (str_...).")],
    db: DbOption = DEFAULT_DB,
    key_file: KeyFileOption = None,
    log: LogOption = None,
) -> None:
    """Remove a sink and its dead letters."""
    typer.echo(orjson.dumps(_change(db, key_file, sink_id, "remove", log)).decode())


@streams_app.command("pause")
def pause(
    sink_id: Annotated[str, typer.Argument(help="The sink id.")],
    db: DbOption = DEFAULT_DB,
    key_file: KeyFileOption = None,
    log: LogOption = None,
) -> None:
    """Stop feeding a sink; its cursor stays, so a resume catches up without a gap."""
    typer.echo(orjson.dumps(_change(db, key_file, sink_id, "pause", log)).decode())


@streams_app.command("resume")
def resume(
    sink_id: Annotated[str, typer.Argument(help="The sink id.")],
    db: DbOption = DEFAULT_DB,
    key_file: KeyFileOption = None,
    log: LogOption = None,
) -> None:
    """Feed a paused sink again from where it stopped."""
    typer.echo(orjson.dumps(_change(db, key_file, sink_id, "resume", log)).decode())
