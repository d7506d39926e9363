"""The typer application every sub-command registers on."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(
    name="tidings",
    help="Tidings: in-app campaigns, a durable event log, streams and Amplitude forwarding.",
    no_args_is_help=True,
    add_completion=False,
    # Plain help: typer's rich formatting imports rich's Markdown renderer, which alone
    # doubled the start-up time of every command.
    rich_markup_mode=None,
    # The root's --help is declared below as a plain flag: typer's own one, left unset (as it is
    # for every sub-command), has its value coerced through pydantic, and importing pydantic
    # cost `tidings simulate --help` as much again as everything else.
    add_help_option=False,
)


def main() -> None:
    """Console-script entry point."""
    app()


def _print_version(wanted: bool) -> None:
    if wanted:
        from tidings.version import VERSION

        typer.echo(f"tidings {VERSION}")
        raise typer.Exit()


def _print_help(ctx: typer.Context, wanted: bool) -> None:
    if wanted:
        typer.echo(ctx.get_help())
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print the installed version and exit.",
        ),
    ] = False,
    show_help: Annotated[
        bool,
        typer.Option(
            "--help", callback=_print_help, is_eager=True, help="Show this message and exit."
        ),
    ] = False,
) -> None:
    """Tidings: in-app campaigns, a durable event log, streams and Amplitude forwarding."""
