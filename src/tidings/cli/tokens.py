"""``tidings tokens create|list|revoke``: admin API tokens, on the database directly.

* ``create [--name N] [--project P ...] [--expires-in 90d]`` prints a new token (shown once;
  only its hash is stored) on stdout, and its id on stderr. ``--project`` (a project name or
  id, repeatable) limits the token to those projects; ``--expires-in`` takes ``30m``, ``12h``,
  ``90d``.
* ``list`` prints one JSON object per token: ``{id, name, createdAt, lastUsedAt, expiresAt,
  projectIds, revokedAt}`` (never the token itself).
* ``revoke ID`` revokes a token by its id (``tok_...``) or by the token itself.

The same operations are ``/admin/api/tokens`` and the dashboard's tokens page.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated

import orjson
import typer

from tidings.cli.app import app
from tidings.cli.database import DEFAULT_DB, DbOption, KeyFileOption, fail, run_on_database

if TYPE_CHECKING:
    from tidings.storage import AdminToken, Store

tokens_app = typer.Typer(help="Create, list and revoke admin API tokens.", no_args_is_help=True)
app.add_typer(tokens_app, name="tokens")

LIST_PAGE = 500


def expires_in_ms(text: str) -> int:
    """``--expires-in``: a positive duration such as ``30m``, ``12h`` or ``90d``, in ms."""
    from tidings.core.errors import InvalidInput
    from tidings.core.timeparse import parse_offset

    ms = parse_offset("+" + text.strip())
    if ms is None or ms <= 0:
        raise InvalidInput("--expires-in", f"{text!r} is not a duration such as 30m, 12h or 90d")
    return ms


async def _project_ids(store: Store, projects: list[str]) -> list[str]:
    from tidings.core.errors import InvalidInput

    out = []
    for wanted in projects:
        found = await store.get_project(wanted) or await store.get_project_by_name(wanted)
        if found is None:
            raise InvalidInput("--project", f"no project named or with the id {wanted!r}")
        out.append(found.id)
    return out


@tokens_app.command("create")
def create(
    name: Annotated[
        str, typer.Option("--name", "--label", help="Who or what uses the token.")
    ] = "",
    project: Annotated[
        list[str] | None,
        typer.Option("--project", help="Limit the token to this project (name or id); repeatable."),
    ] = None,
    expires_in: Annotated[
        str | None, typer.Option("--expires-in", help="Lifetime, e.g. 30m, 12h or 90d.")
    ] = None,
    db: DbOption = DEFAULT_DB,
    key_file: KeyFileOption = None,
) -> None:
    """Create an admin token (printed once; only its hash is stored)."""

    from tidings.core.errors import InvalidInput

    try:  # a bad option is named before any database is opened
        lifetime = expires_in_ms(expires_in) if expires_in is not None else None
    except InvalidInput as exc:
        raise fail(str(exc)) from None

    async def work(store: Store) -> tuple[str, AdminToken]:
        scope = await _project_ids(store, project) if project else None
        issued = await store.issue_admin_token(
            name,
            expires_at=int(time.time() * 1000) + lifetime if lifetime is not None else None,
            project_ids=scope,
        )
        return issued.token, issued.info

    token, info = run_on_database(db, key_file, work)
    typer.echo(token)
    typer.echo(f"token id {info.id} (revoke it with: tidings tokens revoke {info.id})", err=True)


@tokens_app.command("list")
def list_tokens(db: DbOption = DEFAULT_DB, key_file: KeyFileOption = None) -> None:
    """Print every admin token as one JSON object per line (never the token itself)."""

    async def work(store: Store) -> list[AdminToken]:
        out: list[AdminToken] = []
        after: tuple[int, str] | None = None
        while True:
            page = await store.list_admin_tokens(after=after, limit=LIST_PAGE)
            out += page
            if len(page) < LIST_PAGE:
                return out
            after = (page[-1].created_at, page[-1].id)

    for token in run_on_database(db, key_file, work):
        typer.echo(orjson.dumps(token.to_json()).decode())


@tokens_app.command("revoke")
def revoke(
    token: Annotated[str, typer.Argument(help="The token's id (tok_...), or the token itself.")],
    db: DbOption = DEFAULT_DB,
    key_file: KeyFileOption = None,
) -> None:
    """Revoke an admin token: every client and browser session using it stops at once."""

    async def work(store: Store) -> bool:
        if await store.revoke_admin_token_id(token):
            return True
        return await store.revoke_admin_token(token)

    if not run_on_database(db, key_file, work):
        typer.echo(f"error: no active admin token {token!r}", err=True)
        raise typer.Exit(2)
    typer.echo(f"revoked {token if token.startswith('tok_') else 'the token'}")
