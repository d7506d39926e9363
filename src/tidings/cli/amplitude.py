"""``tidings amplitude preview``: print the requests one message produces, sending nothing."""

from __future__ import annotations

import sys
import time
from typing import Annotated, Any

import orjson
import typer

from tidings.cli.app import app

amplitude_app = typer.Typer(
    name="amplitude", help="The Amplitude destination.", no_args_is_help=True
)


def json_option(text: str | None, name: str) -> Any:
    if text is None:
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise typer.BadParameter(f"not valid JSON: {exc}", param_hint=name) from None


@amplitude_app.command("preview")
def preview_command(
    action: Annotated[str | None, typer.Option(help="Action: logEvent, logEventV2, ...")] = None,
    settings: Annotated[str | None, typer.Option(help="Settings JSON (apiKey, endpoint)")] = None,
    mapping: Annotated[str | None, typer.Option(help="Mapping JSON, merged over defaults")] = None,
    preset: Annotated[str | None, typer.Option(help="Preset name, e.g. 'Track Calls'")] = None,
) -> None:
    """Read one message (JSON) on stdin and print the requests it produces as a JSON array."""
    from tidings.core.errors import TidingsError
    from tidings.destinations.amplitude import preview

    try:
        message = orjson.loads(sys.stdin.buffer.read())
    except orjson.JSONDecodeError as exc:
        typer.echo(f"message: not valid JSON: {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        requests = preview(
            message,
            action,
            settings=json_option(settings, "--settings"),
            mapping=json_option(mapping, "--mapping"),
            preset=preset,
            now_ms=int(time.time() * 1000),
        )
    except TidingsError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    sys.stdout.buffer.write(orjson.dumps(requests, option=orjson.OPT_INDENT_2) + b"\n")


app.add_typer(amplitude_app, name="amplitude")

# The instance commands (add, list, remove, replay, dead-letters...) register on amplitude_app.
from tidings.cli import amplitude_instances as _instances  # noqa: E402, F401
