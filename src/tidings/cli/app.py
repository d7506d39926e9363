"""The typer application every sub-command registers on."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="tidings",
    help="Tidings: in-app campaigns, a durable event log, streams and Amplitude forwarding.",
    no_args_is_help=True,
    add_completion=False,
)


def main() -> None:
    """Console-script entry point."""
    app()


@app.callback()
def _root() -> None:
    """Tidings: in-app campaigns, a durable event log, streams and Amplitude forwarding."""
