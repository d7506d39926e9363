"""``tidings simulate SCENARIO.json``: a scripted device, offline (docs/spec/simulate.md).

``--campaigns FILE`` (repeatable) adds the campaigns of a campaign file (one object or a list, as
``tidings campaigns validate`` reads them) to the scenario's own, so one campaign file can be tried
against several scenarios without copying it into each. ``--explain`` adds a ``noDecision`` line
after each event that triggers a campaign which made no decision, naming the first rule that
failed; without it the output is exactly the documented one (the JavaScript runner matches it).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import orjson
import typer

from tidings.cli.app import app


@dataclass(frozen=True, slots=True)
class Rendered:
    """What the command prints for one scenario: exit status, standard output and error."""

    code: int
    stdout: bytes
    stderr: str


def render_scenario(label: str, data: bytes, *, decisions: bool, explain: bool = False) -> Rendered:
    """The whole output of ``tidings simulate`` for a scenario file's bytes.

    Kept apart from the command so the JavaScript runner's output can be compared with it in
    process, thousands of scenarios at a time; ``label`` is the file name of error messages.
    """
    from tidings.core.errors import InvalidInput
    from tidings.core.scenario import parse_scenario
    from tidings.core.simulation import Simulation

    try:
        raw = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        return Rendered(2, b"", f"{label}: not valid JSON: {exc}\n")
    try:
        lines = list(Simulation(parse_scenario(raw), explain=explain).run())
    except InvalidInput as exc:
        return Rendered(2, b"", f"{label}: {exc}\n")
    out = [
        orjson.dumps(line)
        for line in lines
        if decisions or ("decision" not in line and "call" not in line)
    ]
    return Rendered(0, b"".join(part + b"\n" for part in out), "")


@app.command("simulate")
def simulate_command(
    scenario: Path = typer.Argument(..., help="Scenario JSON file."),
    decisions: bool = typer.Option(False, "--decisions", help="Also print campaign decisions."),
    explain: bool = typer.Option(
        False,
        "--explain",
        help="After an event that triggers a campaign which made no decision, print a"
        " noDecision line naming the first rule that failed.",
    ),
    campaigns: list[Path] = typer.Option(
        [],
        "--campaigns",
        help="A campaign JSON file (one campaign or a list) to add to the scenario's campaigns;"
        " repeat the option for more files.",
        show_default=False,
    ),
) -> None:
    """Run a scripted device over a timeline and print every recorded event as JSON lines."""
    if campaigns:
        raw = _read_json(scenario)
        added = [_campaigns_of(path) for path in campaigns]
        if isinstance(raw, dict):
            own = raw.get("campaigns", [])
            raw["campaigns"] = (own if isinstance(own, list) else [own]) + [
                c for items in added for c in items
            ]
        data = orjson.dumps(raw)
    else:
        try:
            data = scenario.read_bytes()
        except OSError as exc:
            _fail(f"{scenario}: cannot read: {exc.strerror or exc}")
    rendered = render_scenario(str(scenario), data, decisions=decisions, explain=explain)
    sys.stdout.buffer.write(rendered.stdout)
    sys.stdout.buffer.flush()
    if rendered.code:
        typer.echo(rendered.stderr, err=True, nl=False)
        raise typer.Exit(rendered.code)


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
