"""``tidings amplitude preview`` (the requests one message produces, sending nothing), and
``tidings amplitude add|list|remove|pause|resume|replay|dead-letters``: the
``tidings destinations`` commands with Amplitude's options, kept as aliases."""

from __future__ import annotations

import sys
import time
from typing import Annotated, Any

import orjson
import typer

from tidings.cli import destinations as commands
from tidings.cli.app import app
from tidings.cli.database import DEFAULT_DB, DbOption, LogOption

amplitude_app = typer.Typer(
    name="amplitude", help="The Amplitude destination.", no_args_is_help=True
)
dead_app = typer.Typer(help="An instance's dead letters.", no_args_is_help=True)
amplitude_app.add_typer(dead_app, name="dead-letters")

InstanceOption = Annotated[str, typer.Option("--instance", help="Instance id.")]
IdsOption = Annotated[
    list[str] | None, typer.Option("--id", help="A dead-letter id (repeat; default: all).")
]
AMPLITUDE_KINDS = ("amplitude", "amplitude-currents")


@amplitude_app.command("preview")
def preview_command(
    action: Annotated[str | None, typer.Option(help="Action: logEvent, logEventV2, ...")] = None,
    settings: Annotated[str | None, typer.Option(help="Settings JSON (apiKey, endpoint)")] = None,
    mapping: Annotated[str | None, typer.Option(help="Mapping JSON, merged over defaults")] = None,
    preset: Annotated[str | None, typer.Option(help="Preset name, e.g. 'Track Calls'")] = None,
) -> None:
    """Read a Segment message or SDK event JSON (a record, a stored payload or an upload body)
    on stdin and print the requests it produces as a JSON array (without --action or --preset:
    what an instance's presets send)."""
    from tidings.core.errors import TidingsError
    from tidings.destinations.kinds import amplitude_preview

    try:
        message = orjson.loads(sys.stdin.buffer.read())
    except orjson.JSONDecodeError as exc:
        typer.echo(f"message: not valid JSON: {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        requests = amplitude_preview(
            message,
            action,
            settings=commands.json_option(settings, "--settings"),
            mapping=commands.json_option(mapping, "--mapping"),
            preset=preset,
            now_ms=int(time.time() * 1000),
        )
    except TidingsError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    sys.stdout.buffer.write(orjson.dumps(requests, option=orjson.OPT_INDENT_2) + b"\n")


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
    db: DbOption = DEFAULT_DB,
    log: LogOption = None,
) -> None:
    """Create an instance; prints it as JSON. It receives events logged from now on."""
    settings: dict[str, Any] = {"apiKey": api_key, "secretKey": secret_key, "endpoint": endpoint}
    if base_url:
        settings["baseUrl"] = base_url
    body: dict[str, Any] = {
        "kind": "amplitude-currents" if currents else "amplitude",
        "name": name,
        "settings": settings,
    }
    subs = commands.json_option(subscriptions, "--subscriptions")
    if subs is not None:
        body["subscriptions"] = subs
    commands.add_destination(db, app_id, body, log=log)


@amplitude_app.command("list")
def list_command(
    app_id: Annotated[str | None, typer.Option("--app", help="Only this app's.")] = None,
    db: DbOption = DEFAULT_DB,
    log: LogOption = None,
) -> None:
    """Print instances (with their outbox and dead-letter counts) as JSON."""
    commands.list_destinations(db, app_id, AMPLITUDE_KINDS, log=log)


@amplitude_app.command("remove")
def remove(instance_id: InstanceOption, db: DbOption = DEFAULT_DB, log: LogOption = None) -> None:
    """Delete an instance with its outbox and dead letters."""
    commands.remove_destination(db, instance_id, log=log)


@amplitude_app.command("pause")
def pause(instance_id: InstanceOption, db: DbOption = DEFAULT_DB, log: LogOption = None) -> None:
    """Stop sending (events keep queueing in the outbox)."""
    commands.set_paused(db, instance_id, "paused by an operator", log=log)


@amplitude_app.command("resume")
def resume(instance_id: InstanceOption, db: DbOption = DEFAULT_DB, log: LogOption = None) -> None:
    """Send again, starting with the backlog."""
    commands.set_paused(db, instance_id, None, log=log)


@amplitude_app.command("replay")
def replay_command(
    instance_id: InstanceOption,
    start: Annotated[str, typer.Option("--from", help="ISO 8601 time (or epoch ms).")],
    end: Annotated[str, typer.Option("--to", help="ISO 8601 time (or epoch ms), exclusive.")],
    db: DbOption = DEFAULT_DB,
    log: LogOption = None,
) -> None:
    """Enqueue every event logged for the instance's apps in [from, to) again."""
    commands.replay_range(db, instance_id, start, end, log=log)


@dead_app.command("list")
def dead_list(
    instance_id: InstanceOption, db: DbOption = DEFAULT_DB, log: LogOption = None
) -> None:
    """Print the dead letters (request, response, reason) as JSON."""
    commands.list_dead_letters(db, instance_id, log=log)


@dead_app.command("retry")
def dead_retry(
    instance_id: InstanceOption,
    ids: IdsOption = None,
    db: DbOption = DEFAULT_DB,
    log: LogOption = None,
) -> None:
    """Put dead letters back into the outbox."""
    commands.retry_dead_letters(db, instance_id, ids, log=log)


@dead_app.command("discard")
def dead_discard(
    instance_id: InstanceOption,
    ids: IdsOption = None,
    db: DbOption = DEFAULT_DB,
    log: LogOption = None,
) -> None:
    """Delete dead letters."""
    commands.discard_dead_letters(db, instance_id, ids, log=log)


app.add_typer(amplitude_app, name="amplitude")
