"""``tidings campaigns validate FILE...``: check campaign JSON files before they go live.

Each file holds one campaign object or a list of them, checked with the same rules as the admin
API (:func:`tidings.core.campaigns.validate_campaigns`). Every problem is printed as
``<file>: <json path>: <reason>``, all of them in one run; the exit code is 2 when any file has
one. A valid campaign that ``tidings simulate`` would not run as it is (no ``state`` or not
``Active``, no ``id``) gets a ``<file>: <path>: warning: ...`` line and does not change the exit
code.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated

import orjson
import typer

from tidings.cli.app import app

campaigns_app = typer.Typer(
    help="Check campaign files; create, list, start, stop and delete campaigns.",
    no_args_is_help=True,
)
app.add_typer(campaigns_app, name="campaigns")


def campaign_warnings(document: object) -> Iterator[tuple[str, str]]:
    """``(path, reason)`` for each campaign that is valid but would not fire in a simulation."""
    items = document if isinstance(document, list) else [document]
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            continue
        prefix = f"[{index}]." if isinstance(document, list) else ""
        state = item.get("state")
        if state is None:
            yield (
                f"{prefix}state",
                "no state, so it is a Draft: tidings simulate and devices will not fire it"
                ' (set "state": "Active" to try it)',
            )
        elif state != "Active":
            yield (
                f"{prefix}state",
                f"{state} campaigns do not fire: tidings simulate and devices skip them",
            )
        if item.get("id") is None:
            yield (
                f"{prefix}id",
                "no id: the server assigns one on upload, tidings simulate needs one",
            )


def _count(document: object) -> int:
    return len(document) if isinstance(document, list) else 1


@campaigns_app.command("validate")
def validate(
    files: Annotated[list[Path], typer.Argument(help="Campaign JSON files.", show_default=False)],
) -> None:
    """Validate campaign JSON files (one campaign object or a list per file).

    Prints every problem as FILE: PATH: REASON and exits with status 2 when there is any; a
    campaign that simulate would not fire (no state, not Active, no id) is a warning only.
    """
    failed = False
    for file in files:
        try:
            document = orjson.loads(file.read_bytes())
        except OSError as exc:
            typer.echo(f"{file}: : cannot read file: {exc.strerror or exc}")
            failed = True
            continue
        except orjson.JSONDecodeError as exc:
            typer.echo(f"{file}: : not valid JSON: {exc}")
            failed = True
            continue
        from tidings.core.campaigns import validate_campaigns

        errors = validate_campaigns(document)
        for error in errors:
            typer.echo(f"{file}: {error.field}: {error.reason}")
        if errors:
            failed = True
            continue
        for path, reason in campaign_warnings(document):
            typer.echo(f"{file}: {path}: warning: {reason}")
        count = _count(document)
        typer.echo(f"{file}: ok ({count} campaign{'s' if count != 1 else ''})")
    if failed:
        raise typer.Exit(code=2)
