"""``tidings simulate SCENARIO.json``: a scripted device, offline (docs/spec/simulate.md).

``--campaigns FILE`` (repeatable) adds the campaigns of a campaign file (one object or a list, as
``tidings campaigns validate`` reads them) to the scenario's own, so one campaign file can be tried
against several scenarios without copying it into each.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, NoReturn

import orjson
import typer

from tidings.cli.app import app


@app.command("simulate")
def simulate_command(
    scenario: Path = typer.Argument(..., help="Scenario JSON file."),
    decisions: bool = typer.Option(False, "--decisions", help="Also print campaign decisions."),
    campaigns: list[Path] = typer.Option(
        [],
        "--campaigns",
        help="A campaign JSON file (one campaign or a list) to add to the scenario's campaigns;"
        " repeat the option for more files.",
        show_default=False,
    ),
) -> None:
    """Run a scripted device over a timeline and print every recorded event as JSON lines."""
    from tidings.core.errors import InvalidInput
    from tidings.core.scenario import parse_scenario
    from tidings.core.simulation import simulate

    raw = _read_json(scenario)
    added = [_campaigns_of(path) for path in campaigns]
    if added and isinstance(raw, dict):
        own = raw.get("campaigns", [])
        raw["campaigns"] = (own if isinstance(own, list) else [own]) + [
            c for items in added for c in items
        ]
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


def _read_json(path: Path) -> Any:
    try:
        return orjson.loads(path.read_bytes())
    except OSError as exc:
        _fail(f"{path}: cannot read: {exc.strerror or exc}")
    except orjson.JSONDecodeError as exc:
        _fail(f"{path}: not valid JSON: {exc}")


def _campaigns_of(path: Path) -> list[Any]:
    """The campaigns of one file, every problem reported as ``FILE: path: reason``."""
    from tidings.core.campaigns import validate_campaigns

    document = _read_json(path)
    errors = validate_campaigns(document)
    if errors:
        _fail("\n".join(f"{path}: {e.field}: {e.reason}" for e in errors))
    return document if isinstance(document, list) else [document]


def _fail(message: str) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(2)
