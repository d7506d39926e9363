"""``tidings campaigns validate FILE...``: check campaign JSON files before they go live.

Each file holds one campaign object or a list of them. Every problem is printed as
``<file>: <json path>: <reason>`` (one line per invalid campaign); the exit code is 0 when every
file is valid and 2 otherwise.
"""

from __future__ import annotations

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


def validate_document(document: object) -> tuple[int, list[tuple[str, str]]]:
    """Validate one file's JSON: the number of campaigns and the (path, reason) of each error."""
    from tidings.core.campaigns import parse_campaign
    from tidings.core.errors import InvalidCampaign

    items = document if isinstance(document, list) else [document]
    errors: list[tuple[str, str]] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        prefix = f"[{index}]" if isinstance(document, list) else ""
        try:
            campaign = parse_campaign(item)
        except InvalidCampaign as exc:
            errors.append((_join(prefix, exc.field), exc.reason))
            continue
        if campaign.id in seen:
            errors.append(
                (
                    _join(prefix, "id"),
                    f"duplicate campaign id {campaign.id!r} (also [{seen[campaign.id]}])",
                )
            )
        seen.setdefault(campaign.id, index)
    return len(items), errors


def _join(prefix: str, field: str) -> str:
    if not prefix:
        return field
    return f"{prefix}.{field}" if field else prefix


@campaigns_app.command("validate")
def validate(
    files: Annotated[list[Path], typer.Argument(help="Campaign JSON files.", show_default=False)],
) -> None:
    """Validate campaign JSON files (one campaign object or a list per file)."""
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
        count, errors = validate_document(document)
        for path, reason in errors:
            typer.echo(f"{file}: {path}: {reason}")
        if errors:
            failed = True
        else:
            typer.echo(f"{file}: ok ({count} campaign{'s' if count != 1 else ''})")
    if failed:
        raise typer.Exit(code=2)
