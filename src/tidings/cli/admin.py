"""Bootstrap commands that work on the database directly (no server needed).

* ``tidings migrate`` brings the schema up to date (opening a store does this too; the command
  exists so deployments can migrate before starting several server processes).
* ``tidings apps create --name N --platform P [--project NAME]`` prints the new app's credentials
  as JSON; they are shown once. The project is created when no project has that name (its data
  import key is then printed on stderr, also only once).

Admin tokens are ``tidings tokens`` (``tokens.py``).

``--db`` defaults to ``$TIDINGS_DB`` or ``sqlite:///./tidings.db``.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import orjson
import typer

from tidings.cli.app import app
from tidings.core.errors import InvalidConfig
from tidings.storage import DEFAULT_DB_URL, StoreError, open_store

apps_app = typer.Typer(help="Create applications and their keys.", no_args_is_help=True)
app.add_typer(apps_app, name="apps")

DbOption = Annotated[
    str,
    typer.Option(
        "--db", envvar="TIDINGS_DB", help="Database URL (sqlite:///... or postgresql://...)."
    ),
]
DEFAULT_PROJECT = "default"


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


@app.command("migrate")
def migrate(db: DbOption = DEFAULT_DB_URL) -> None:
    """Create or upgrade the database schema."""

    async def run() -> int:
        store = await open_store(db)
        try:
            return await store.schema_version()
        finally:
            await store.close()

    try:
        version = asyncio.run(run())
    except (InvalidConfig, StoreError, OSError) as exc:
        raise _fail(str(exc)) from exc
    typer.echo(f"schema version {version}")


@apps_app.command("create")
def create_app(
    name: Annotated[str, typer.Option("--name", help="Application name.")],
    platform: Annotated[str, typer.Option("--platform", help="Platform, e.g. ios or android.")],
    project: Annotated[
        str, typer.Option("--project", help="Project name (created when missing).")
    ] = DEFAULT_PROJECT,
    db: DbOption = DEFAULT_DB_URL,
) -> None:
    """Create an application; prints {"appId","apiKeyPublic","apiKeySecret","writeKey"}."""
    if not name.strip():
        raise _fail("--name: must not be empty")
    if not platform.strip():
        raise _fail("--platform: must not be empty")

    async def run() -> dict[str, str]:
        store = await open_store(db)
        try:
            found = await store.get_project_by_name(project)
            if found is None:
                found = await store.create_project(project)
                typer.echo(
                    f"created project {project!r} ({found.id}); "
                    f"data import key (shown once): {found.data_import_key}",
                    err=True,
                )
            credentials = await store.create_app(found.id, name, platform)
            return credentials.to_json()
        finally:
            await store.close()

    try:
        result = asyncio.run(run())
    except (InvalidConfig, StoreError, OSError) as exc:
        raise _fail(str(exc)) from exc
    typer.echo(orjson.dumps(result).decode())
