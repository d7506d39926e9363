"""Bootstrap commands that work on the database directly (no server needed).

* ``tidings migrate`` creates the database if needed and brings the schema up to date (opening a
  store does this too; the command exists so deployments can migrate before starting several
  server processes).
* ``tidings apps create --name N --platform P [--project NAME]`` prints the new app's credentials
  as JSON; they are shown once. The project is created when no project has that name (its data
  import key is then printed on stderr, also only once).
* ``tidings apps list [--project NAME]`` prints the apps, one JSON object per line (no secrets).

Admin tokens are ``tidings tokens`` (``tokens.py``).

``--db`` defaults to ``$TIDINGS_DB`` or ``sqlite:///./tidings.db``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer

from tidings.cli.app import app
from tidings.cli.database import (
    DEFAULT_DB,
    DbOption,
    KeyFileOption,
    LogOption,
    fail,
    run_on_database,
)

if TYPE_CHECKING:
    from tidings.storage import Store

apps_app = typer.Typer(help="Create and list applications.", no_args_is_help=True)
app.add_typer(apps_app, name="apps")

DEFAULT_PROJECT = "default"


@app.command("migrate")
def migrate(
    db: DbOption = DEFAULT_DB, key_file: KeyFileOption = None, log: LogOption = None
) -> None:
    """Create the database if it does not exist, and bring its schema up to date; with
    ``--log``, create or update the JetStream stream of the event log too."""

    async def work(store: Store) -> int:
        return await store.schema_version()

    version = run_on_database(db, key_file, work, create=True, log=log)
    typer.echo(f"schema version {version}")
    if log:
        from tidings.storage.jetstream import parse_log_url

        target = parse_log_url(log)
        typer.echo(f"event log {target.display()}: {target.partitions} partitions")


@apps_app.command("create")
def create_app(
    name: Annotated[str, typer.Option("--name", help="Application name.")],
    platform: Annotated[str, typer.Option("--platform", help="Platform, e.g. ios or android.")],
    project: Annotated[
        str, typer.Option("--project", help="Project name (created when missing).")
    ] = DEFAULT_PROJECT,
    db: DbOption = DEFAULT_DB,
    key_file: KeyFileOption = None,
) -> None:
    """Create an application; prints {"appId","apiKeyPublic","apiKeySecret","writeKey"}."""
    if not name.strip():
        raise fail("--name: must not be empty")
    if not platform.strip():
        raise fail("--platform: must not be empty")

    async def work(store: Store) -> dict[str, str]:
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

    typer.echo(orjson.dumps(run_on_database(db, key_file, work)).decode())


@apps_app.command("list")
def list_apps(
    project: Annotated[
        str | None, typer.Option("--project", help="Only the apps of this project (by name).")
    ] = None,
    db: DbOption = DEFAULT_DB,
    key_file: KeyFileOption = None,
) -> None:
    """List applications, one JSON object per line (keys are never shown again)."""

    async def work(store: Store) -> list[dict[str, Any]]:
        projects = {p.id: p.name for p in await store.list_projects()}
        if project is not None and project not in projects.values():
            raise fail(f"--project: no project named {project!r}", 1)
        return [
            {
                "appId": a.id,
                "name": a.name,
                "platform": a.platform,
                "projectId": a.project_id,
                "project": projects.get(a.project_id),
                "createdAt": a.created_at,
            }
            for a in await store.list_apps()
            if project is None or projects.get(a.project_id) == project
        ]

    for item in run_on_database(db, key_file, work):
        typer.echo(orjson.dumps(item).decode())
