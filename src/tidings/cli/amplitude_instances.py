"""``tidings amplitude add|list|remove|pause|resume|replay|dead-letters``: instances on the DB.

They work on the database directly (no server needed), like ``tidings apps``; a running server or
worker picks the changes up within seconds. ``replay`` enqueues a time range of the event log into
an instance's outbox with a progress bar; the senders deliver it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import orjson
import typer

from tidings.cli.amplitude import amplitude_app, json_option
from tidings.cli.database import DEFAULT_DB as DEFAULT_DB_URL
from tidings.cli.database import DbOption, open_database

if TYPE_CHECKING:
    from tidings.storage import Store

T = TypeVar("T")
dead_app = typer.Typer(help="An instance's dead letters.", no_args_is_help=True)
amplitude_app.add_typer(dead_app, name="dead-letters")


def _run(db: str, job: Callable[[Store], Awaitable[T]]) -> T:
    from tidings.core.errors import TidingsError
    from tidings.storage import NotFoundError, StoreError

    async def main() -> T:
        store = await open_database(db)
        try:
            return await job(store)
        finally:
            await store.close()

    try:
        return asyncio.run(main())
    except NotFoundError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    except (TidingsError, StoreError, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def _print(value: Any) -> None:
    typer.echo(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode())


@amplitude_app.command("add")
def add(  # noqa: PLR0917 - one parameter per command-line option
    app_id: Annotated[str, typer.Option("--app", help="The app whose events are sent.")],
    api_key: Annotated[str, typer.Option("--api-key", help="Amplitude project API key.")],
    secret_key: Annotated[str, typer.Option("--secret-key", help="Amplitude secret key.")] = "",
    endpoint: Annotated[str, typer.Option(help="north_america or europe.")] = "north_america",
    name: Annotated[str, typer.Option(help="A label for people.")] = "Amplitude",
    currents: Annotated[
        bool, typer.Option("--currents", help="Currents mode instead of the presets.")
    ] = False,
    subscriptions: Annotated[
        str | None, typer.Option(help="Subscriptions JSON array (default: every preset).")
    ] = None,
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="Override Amplitude's host (proxies).")
    ] = None,
    db: DbOption = DEFAULT_DB_URL,
) -> None:
    """Create an instance; prints it as JSON. It receives events logged from now on."""
    from tidings.pipeline.instances import create_instance

    settings: dict[str, Any] = {"apiKey": api_key, "secretKey": secret_key, "endpoint": endpoint}
    if base_url:
        settings["baseUrl"] = base_url
    body: dict[str, Any] = {
        "kind": "amplitude-currents" if currents else "amplitude",
        "name": name,
        "settings": settings,
    }
    subs = json_option(subscriptions, "--subscriptions")
    if subs is not None:
        body["subscriptions"] = subs
    instance = _run(db, lambda store: create_instance(store, app_id, body))
    _print(instance.to_json())


@amplitude_app.command("list")
def list_command(
    app_id: Annotated[str | None, typer.Option("--app", help="Only this app's.")] = None,
    db: DbOption = DEFAULT_DB_URL,
) -> None:
    """Print instances (with their outbox and dead-letter counts) as JSON."""
    from tidings.pipeline import deadletters
    from tidings.pipeline.instances import list_instances

    async def job(store: Store) -> list[dict[str, Any]]:
        out = []
        for instance in await list_instances(store, app_id):
            item = instance.to_json()
            item["outbox"] = await deadletters.pending(store, instance.id)
            item["deadLetters"] = len(await deadletters.dead_letters(store, instance.id))
            out.append(item)
        return out

    _print(_run(db, job))


@amplitude_app.command("remove")
def remove(
    instance_id: Annotated[str, typer.Option("--instance", help="Instance id.")],
    db: DbOption = DEFAULT_DB_URL,
) -> None:
    """Delete an instance with its outbox and dead letters."""
    from tidings.pipeline import deadletters
    from tidings.pipeline.instances import delete_instance

    async def job(store: Store) -> None:
        await delete_instance(store, instance_id)
        await deadletters.forget(store, instance_id)

    _run(db, job)
    typer.echo(f"removed {instance_id}")


def _set_paused(db: str, instance_id: str, reason: str | None) -> None:
    from tidings.pipeline.instances import set_paused

    _print(_run(db, lambda store: set_paused(store, instance_id, reason)).to_json())


@amplitude_app.command("pause")
def pause(
    instance_id: Annotated[str, typer.Option("--instance", help="Instance id.")],
    db: DbOption = DEFAULT_DB_URL,
) -> None:
    """Stop sending (events keep queueing in the outbox)."""
    _set_paused(db, instance_id, "paused by an operator")


@amplitude_app.command("resume")
def resume(
    instance_id: Annotated[str, typer.Option("--instance", help="Instance id.")],
    db: DbOption = DEFAULT_DB_URL,
) -> None:
    """Send again, starting with the backlog."""
    _set_paused(db, instance_id, None)


@amplitude_app.command("replay")
def replay_command(
    instance_id: Annotated[str, typer.Option("--instance", help="Instance id.")],
    start: Annotated[str, typer.Option("--from", help="ISO 8601 time (or epoch ms).")],
    end: Annotated[str, typer.Option("--to", help="ISO 8601 time (or epoch ms), exclusive.")],
    db: DbOption = DEFAULT_DB_URL,
) -> None:
    """Enqueue every event logged for the instance's apps in [from, to) again."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from tidings.core.errors import InvalidInput
    from tidings.core.timeparse import format_instant
    from tidings.pipeline.amplitude import ReplayProgress, parse_time_bound, replay
    from tidings.pipeline.instances import get_instance

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

        done = _run(db, job)
        bar.update(task, completed=span)
    typer.echo(f"replayed {done.records} events as {done.items} items into {instance_id}")


@dead_app.command("list")
def dead_list(
    instance_id: Annotated[str, typer.Option("--instance", help="Instance id.")],
    db: DbOption = DEFAULT_DB_URL,
) -> None:
    """Print the dead letters (request, response, reason) as JSON."""
    from tidings.pipeline import deadletters

    async def job(store: Store) -> list[dict[str, object]]:
        return [d.to_json() for d in await deadletters.dead_letters(store, instance_id)]

    _print(_run(db, job))


IdsOption = Annotated[
    list[str] | None, typer.Option("--id", help="A dead-letter id (repeat; default: all).")
]


@dead_app.command("retry")
def dead_retry(
    instance_id: Annotated[str, typer.Option("--instance", help="Instance id.")],
    ids: IdsOption = None,
    db: DbOption = DEFAULT_DB_URL,
) -> None:
    """Put dead letters back into the outbox."""
    from tidings.pipeline import deadletters

    count = _run(db, lambda store: deadletters.retry(store, instance_id, ids or None))
    typer.echo(f"retried {count}")


@dead_app.command("discard")
def dead_discard(
    instance_id: Annotated[str, typer.Option("--instance", help="Instance id.")],
    ids: IdsOption = None,
    db: DbOption = DEFAULT_DB_URL,
) -> None:
    """Delete dead letters."""
    from tidings.pipeline import deadletters

    count = _run(db, lambda store: deadletters.discard(store, instance_id, ids or None))
    typer.echo(f"discarded {count}")
