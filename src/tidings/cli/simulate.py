"""``tidings simulate SCENARIO.json``: a scripted device, offline (docs/spec/simulate.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import orjson
import typer

from tidings.cli.app import app


@app.command("simulate")
def simulate_command(
    scenario: Path = typer.Argument(..., help="Scenario JSON file."),
    decisions: bool = typer.Option(False, "--decisions", help="Also print campaign decisions."),
) -> None:
    """Run a scripted device over a timeline and print every recorded event as JSON lines."""
    from tidings.core.errors import InvalidInput
    from tidings.core.scenario import parse_scenario
    from tidings.core.simulation import simulate

    try:
        raw = orjson.loads(scenario.read_bytes())
    except OSError as exc:
        _fail(f"{scenario}: cannot read: {exc.strerror or exc}")
    except orjson.JSONDecodeError as exc:
        _fail(f"{scenario}: not valid JSON: {exc}")
    try:
        lines = simulate(parse_scenario(raw))
    except InvalidInput as exc:
        _fail(f"{scenario}: {exc}")
    out = sys.stdout.buffer
    for line in lines:
        if "decision" in line and not decisions:
            continue
        out.write(orjson.dumps(line) + b"\n")
    out.flush()


def _fail(message: str) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(2)
