"""``tidings destinations add|list|show|pause|resume|replay|remove|dead-letters``: every kind.

The commands work on the database directly (no server needed), like ``tidings apps``; a running
server or worker picks the changes up within seconds. ``replay`` enqueues a time range of the
event log into a destination's outbox with a progress bar; the senders deliver it. ``tidings
amplitude ...`` are the same commands with Amplitude's options.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import orjson
import typer

from tidings.cli.app import app
from tidings.cli.database import DEFAULT_DB, DbOption, LogOption, run_on_database

if TYPE_CHECKING:
    from tidings.storage import Store

T = TypeVar("T")
destinations_app = typer.Typer(
    name="destinations", help="Destinations of every kind.", no_args_is_help=True
)
dead_app = typer.Typer(help="A destination's dead letters.", no_args_is_help=True)
destinations_app.add_typer(dead_app, name="dead-letters")

IdOption = Annotated[str, typer.Option("--id", help="Destination id.")]
IdsOption = Annotated[
    list[str] | None, typer.Option("--letter", help="A dead-letter id (repeat; default: all).")
]


def run_job(db: str, log: str | None, job: Callable[[Store], Awaitable[T]]) -> T:
    """Run ``job`` on the store of ``db`` and ``log`` (the event log on JetStream, when it is
    there; its server key as every command finds it: ``$TIDINGS_SECRET_KEY``,
    ``$TIDINGS_SECRET_KEY_FILE``, else the default place); errors become one line and an exit
    status."""
    return run_on_database(db, None, job, log=log)


def print_json(value: Any) -> None:
    typer.echo(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode())


def json_option(text: str | None, name: str) -> Any:
    """A JSON command-line value, or a usage error naming the option."""
    if text is None:
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise typer.BadParameter(f"not valid JSON: {exc}", param_hint=name) from None


def add_destination(db: str, app_id: str, body: dict[str, Any], log: str | None = None) -> None:
    """Create a destination of ``app_id`` and print it."""
    from tidings.pipeline.delivery import create_instance

    instance = run_job(db, log, lambda store: create_instance(store, app_id, body))
    print_json(instance.to_json())


def list_destinations(
    db: str, app_id: str | None, kinds: tuple[str, ...] | None = None, log: str | None = None
) -> None:
    """Print destinations (of an app, of some kinds) with their outbox and dead-letter counts."""
    from tidings.pipeline import delivery

    async def job(store: Store) -> list[dict[str, Any]]:
        out = []
        for instance in await delivery.list_instances(store, app_id):
            if kinds is not None and instance.kind not in kinds:
                continue
            item = instance.to_json()
            item["outbox"] = await delivery.pending(store, instance.id)
            item["deadLetters"] = len(await delivery.dead_letters(store, instance.id))
            out.append(item)
        return out

    print_json(run_job(db, log, job))


def remove_destination(db: str, instance_id: str, log: str | None = None) -> None:
    from tidings.pipeline import delivery

    async def job(store: Store) -> None:
        await delivery.delete_instance(store, instance_id)
        await delivery.forget(store, instance_id)

    run_job(db, log, job)
    typer.echo(f"removed {instance_id}")


def set_paused(db: str, instance_id: str, reason: str | None, log: str | None = None) -> None:
    from tidings.pipeline.delivery import set_paused as pause

    print_json(run_job(db, log, lambda store: pause(store, instance_id, reason)).to_json())


def replay_range(db: str, instance_id: str, start: str, end: str, log: str | None = None) -> None:
    """Enqueue every event logged for the destination's apps in [start, end) again."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from tidings.core.errors import InvalidInput
    from tidings.core.timeparse import format_instant
    from tidings.pipeline.delivery import ReplayProgress, get_instance, parse_time_bound, replay

    try:
        from_ms = parse_time_bound("--from", start)
        to_ms = parse_time_bound("--to", end)
    except InvalidInput as exc:
        raise typer.BadParameter(exc.reason, param_hint=exc.field) from None
    if from_ms >= to_ms:
        raise typer.BadParameter("must be after --from", param_hint="--to")
    span = to_ms - from_ms
    with Progress(
        TextColumn("[bold]replay"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TextColumn("{task.fields[records]} events, {task.fields[items]} items"),
        TextColumn("{task.fields[at]}"),
        TimeElapsedColumn(),
        transient=False,
    ) as bar:
        task = bar.add_task("replay", total=span, records=0, items=0, at="")

        def show(progress: ReplayProgress) -> None:
            at = progress.last_timestamp or from_ms
            # Records come in log order, which follows time closely but not exactly.
            bar.update(
                task,
                completed=max(0, min(span, at - from_ms)),
                records=progress.records,
                items=progress.items,
                at=format_instant(at),
            )

        async def job(store: Store) -> ReplayProgress:
            instance = await get_instance(store, instance_id)
            return await replay(store, instance, from_ms, to_ms, on_progress=show)

        done = run_job(db, log, job)
        bar.update(task, completed=span)
    typer.echo(f"replayed {done.records} events as {done.items} items into {instance_id}")


def list_dead_letters(db: str, instance_id: str, log: str | None = None) -> None:
    from tidings.pipeline.delivery import dead_letters

    async def job(store: Store) -> list[dict[str, object]]:
        return [d.to_json() for d in await dead_letters(store, instance_id)]

    print_json(run_job(db, log, job))


def retry_dead_letters(
    db: str, instance_id: str, ids: list[str] | None, log: str | None = None
) -> None:
    from tidings.pipeline.delivery import retry

    count = run_job(db, log, lambda store: retry(store, instance_id, ids or None))
    typer.echo(f"retried {count}")


def discard_dead_letters(
    db: str, instance_id: str, ids: list[str] | None, log: str | None = None
) -> None:
    from tidings.pipeline.delivery import discard

    count = run_job(db, log, lambda store: discard(store, instance_id, ids or None))
    typer.echo(f"discarded {count}")


# --------------------------------------------------------------------------- commands


@destinations_app.command("add")
def add(  # noqa: PLR0917 - one parameter per command-line option
    kind: Annotated[str, typer.Option("--kind", help="amplitude, amplitude-currents, webhook.")],
    app_id: Annotated[str, typer.Option("--app", help="The app whose events are sent.")],
    settings: Annotated[str, typer.Option(help="Settings JSON (the kind's, see docs).")],
    name: Annotated[str, typer.Option(help="A label for people.")] = "",
    subscriptions: Annotated[
        str | None, typer.Option(help="Subscriptions JSON array (kinds that have them).")
    ] = None,
    db: DbOption = DEFAULT_DB,
    log: LogOption = None,
) -> None:
    """Create a destination; prints it as JSON. It receives events logged from now on."""
    body: dict[str, Any] = {
        "kind": kind,
        "name": name,
        "settings": json_option(settings, "--settings"),
    }
    subs = json_option(subscriptions, "--subscriptions")
    if subs is not None:
        body["subscriptions"] = subs
    add_destination(db, app_id, body, log=log)


@destinations_app.command("list")
def list_command(
    app_id: Annotated[str | None, typer.Option("--app", help="Only this app's.")] = None,
    db: DbOption = DEFAULT_DB,
    log: LogOption = None,
) -> None:
    """Print destinations (with their outbox and dead-letter counts) as JSON."""
    list_destinations(db, app_id, log=log)


@destinations_app.command("show")
def show(instance_id: IdOption, db: DbOption = DEFAULT_DB, log: LogOption = None) -> None:
    """Print one destination, its outbox size, dead letters, cursor position and how many log
    records it is behind (on a partitioned log: summed over its partitions, each listed)."""
    from tidings.pipeline import delivery
    from tidings.storage.consumercursors import consumer_progress

    async def job(store: Store) -> dict[str, Any]:
        instance = await delivery.get_instance(store, instance_id)
        out = instance.to_json()
        out["outbox"] = await delivery.pending(store, instance.id)
        out["deadLetters"] = len(await delivery.dead_letters(store, instance.id))
        progress = await consumer_progress(store, delivery.cursor_name(instance.id))
        out.update(progress.to_json())
        return out

    print_json(run_job(db, log, job))


@destinations_app.command("remove")
def remove(instance_id: IdOption, db: DbOption = DEFAULT_DB, log: LogOption = None) -> None:
    """Delete a destination with its outbox and dead letters."""
    remove_destination(db, instance_id, log=log)


@destinations_app.command("pause")
def pause(instance_id: IdOption, db: DbOption = DEFAULT_DB, log: LogOption = None) -> None:
    """Stop sending (events keep queueing in the outbox)."""
    set_paused(db, instance_id, "paused by an operator", log=log)


@destinations_app.command("resume")
def resume(instance_id: IdOption, db: DbOption = DEFAULT_DB, log: LogOption = None) -> None:
    """Send again, starting with the backlog."""
    set_paused(db, instance_id, None, log=log)


@destinations_app.command("replay")
def replay_command(
    instance_id: IdOption,
    start: Annotated[str, typer.Option("--from", help="ISO 8601 time (or epoch ms).")],
    end: Annotated[str, typer.Option("--to", help="ISO 8601 time (or epoch ms), exclusive.")],
    db: DbOption = DEFAULT_DB,
    log: LogOption = None,
) -> None:
    """Enqueue every event logged for the destination's apps in [from, to) again."""
    replay_range(db, instance_id, start, end, log=log)


@dead_app.command("list")
def dead_list(instance_id: IdOption, db: DbOption = DEFAULT_DB, log: LogOption = None) -> None:
    """Print the dead letters (request, response, reason) as JSON."""
    list_dead_letters(db, instance_id, log=log)


@dead_app.command("retry")
def dead_retry(
    instance_id: IdOption, ids: IdsOption = None, db: DbOption = DEFAULT_DB, log: LogOption = None
) -> None:
    """Put dead letters back into the outbox."""
    retry_dead_letters(db, instance_id, ids, log=log)


@dead_app.command("discard")
def dead_discard(
    instance_id: IdOption, ids: IdsOption = None, db: DbOption = DEFAULT_DB, log: LogOption = None
) -> None:
    """Delete dead letters."""
    discard_dead_letters(db, instance_id, ids, log=log)


app.add_typer(destinations_app, name="destinations")
