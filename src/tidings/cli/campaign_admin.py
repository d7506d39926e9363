"""``tidings campaigns create|list|show|start|stop|delete``: campaigns of an app, from a shell.

Each command works either on a database (``--db``, the default, like ``tidings apps``) or on a
running server through its admin API (``--server URL --token T``). Both paths apply the same
rules, because both end in the admin API's own operations (:mod:`tidings.server.admin`): the
same validation, the same Draft → Active → Cancel → Active moves, the same refusal to delete an
Active campaign, and the same messages. A refusal is one line on stderr: exit 1 when the app or
campaign does not exist, 2 for anything else.

Output is JSON: ``show`` prints the campaign indented, the others one object per line. The
commands declare the shared options (``--db``, ``--key-file``, ``--server``, ``--token``) for
the help and the parser; :func:`_run` reads them from the context.
"""

from __future__ import annotations

import abc
import asyncio
import sys
from collections.abc import Awaitable, Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar
from urllib.parse import quote, urlencode

import orjson
import typer

from tidings.cli.campaigns import campaigns_app
from tidings.cli.database import DEFAULT_DB, DbOption, KeyFileOption, fail, run_on_database

if TYPE_CHECKING:
    import httpx

    from tidings.storage import Store

T = TypeVar("T")


class State(StrEnum):
    Draft = "Draft"
    Active = "Active"
    Cancel = "Cancel"


class CampaignAdmin(abc.ABC):
    """The campaign operations, wherever they run; each returns the API's JSON."""

    @abc.abstractmethod
    async def list(self, app_id: str, state: str | None) -> list[dict[str, Any]]: ...

    @abc.abstractmethod
    async def show(self, campaign_id: str) -> dict[str, Any]: ...

    @abc.abstractmethod
    async def create(self, app_id: str, body: dict[str, Any]) -> dict[str, Any]: ...

    @abc.abstractmethod
    async def set_state(self, campaign_id: str, state: str) -> dict[str, Any]: ...

    @abc.abstractmethod
    async def delete(self, campaign_id: str) -> dict[str, Any]: ...


class OnDatabase(CampaignAdmin):
    """The admin API's operations called on an open store."""

    def __init__(self, store: Store) -> None:
        from tidings.server import admin
        from tidings.server.admin_access import local_access

        self._access = local_access(store)
        self._admin = admin

    async def list(self, app_id: str, state: str | None) -> list[dict[str, Any]]:
        found = await self._admin.app_campaigns(self._access, app_id, state)
        return [self._admin.campaign_json(c) for c in found]

    async def show(self, campaign_id: str) -> dict[str, Any]:
        return self._admin.campaign_json(await self._admin.find_campaign(self._access, campaign_id))

    async def create(self, app_id: str, body: dict[str, Any]) -> dict[str, Any]:
        made = await self._admin.add_campaign(self._access, app_id, body)
        return self._admin.campaign_json(made)

    async def set_state(self, campaign_id: str, state: str) -> dict[str, Any]:
        changed = await self._admin.change_campaign_state(self._access, campaign_id, state)
        return self._admin.campaign_json(changed)

    async def delete(self, campaign_id: str) -> dict[str, Any]:
        removed = await self._admin.remove_campaign(self._access, campaign_id)
        return {"id": removed.id, "deleted": True}


LIST_PAGE = 1000
"""Campaigns asked for per page of the admin API (its maximum)."""


class OnServer(CampaignAdmin):
    """The admin API of a running server, over HTTP."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def _call(self, method: str, path: str, body: Any = None) -> Any:
        from tidings.server.errors import ApiError

        content = None if body is None else orjson.dumps(body)
        response = await self._client.request(method, f"/admin/api{path}", content=content)
        try:
            parsed = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            parsed = None
        if response.is_success:
            return parsed
        error = parsed.get("error") if isinstance(parsed, dict) else None
        if isinstance(error, dict):
            raise ApiError(response.status_code, str(error.get("code")), str(error.get("message")))
        raise ApiError(
            response.status_code, "http_error", f"the server answered {response.status_code}"
        )

    async def list(self, app_id: str, state: str | None) -> list[dict[str, Any]]:
        """Every page of the app's campaigns (the admin API pages its lists)."""
        params = {"limit": str(LIST_PAGE), **({"state": state} if state else {})}
        found: list[dict[str, Any]] = []
        while True:
            page = await self._call(
                "GET", f"/apps/{quote(app_id, safe='')}/campaigns?{urlencode(params)}"
            )
            found += page["items"]
            if not page.get("next"):
                return found
            params["cursor"] = page["next"]

    async def show(self, campaign_id: str) -> dict[str, Any]:
        found: dict[str, Any] = await self._call("GET", f"/campaigns/{quote(campaign_id, safe='')}")
        return found

    async def create(self, app_id: str, body: dict[str, Any]) -> dict[str, Any]:
        made: dict[str, Any] = await self._call(
            "POST", f"/apps/{quote(app_id, safe='')}/campaigns", body
        )
        return made

    async def set_state(self, campaign_id: str, state: str) -> dict[str, Any]:
        changed: dict[str, Any] = await self._call(
            "POST", f"/campaigns/{quote(campaign_id, safe='')}/state", {"state": state}
        )
        return changed

    async def delete(self, campaign_id: str) -> dict[str, Any]:
        removed: dict[str, Any] = await self._call(
            "DELETE", f"/campaigns/{quote(campaign_id, safe='')}"
        )
        return removed


ServerOption = Annotated[
    str | None,
    typer.Option(
        "--server",
        envvar="TIDINGS_SERVER",
        help="Work through a running server's admin API (http://host:port) instead of --db.",
        show_default=False,
    ),
]
TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar="TIDINGS_ADMIN_TOKEN",
        help="Admin token for --server (from tidings tokens create).",
        show_default=False,
    ),
]


def _run(ctx: typer.Context, job: Callable[[CampaignAdmin], Awaitable[T]]) -> T:
    """Run ``job`` where the command's options say (``--db`` or ``--server``).

    An admin API refusal is one line: exit 1 for a missing app or campaign, 2 otherwise.
    """
    from tidings.server.errors import ApiError

    options = ctx.params
    server, token = options["server"], options["token"]
    try:
        if server is None:
            return run_on_database(
                options["db"], options["key_file"], lambda store: job(OnDatabase(store))
            )
        source = ctx.get_parameter_source("db")
        if source is not None and source.name == "COMMANDLINE":
            raise fail("--db and --server: give one of them")
        if not token:
            raise fail("--token is required with --server (or set TIDINGS_ADMIN_TOKEN)")
        return asyncio.run(_on_server(server, token, job))
    except ApiError as exc:
        raise fail(exc.message, 1 if exc.status == 404 else 2) from None


async def _on_server(server: str, token: str, job: Callable[[CampaignAdmin], Awaitable[T]]) -> T:
    import httpx

    base = server.rstrip("/")
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    try:
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30.0) as client:
            return await job(OnServer(client))
    except httpx.InvalidURL as exc:
        raise fail(f"--server: {exc}") from None
    except httpx.TransportError as exc:
        raise fail(f"cannot reach {base}: {exc or type(exc).__name__}") from None


def _read_campaigns(file: Path) -> list[tuple[str, dict[str, Any]]]:
    """The campaigns of a file (one object or a list), each with its place for messages."""
    try:
        raw = sys.stdin.buffer.read() if str(file) == "-" else file.read_bytes()
    except OSError as exc:
        raise fail(f"{file}: cannot read file: {exc.strerror or exc}") from None
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise fail(f"{file}: not valid JSON: {exc}") from None
    items = document if isinstance(document, list) else [document]
    out: list[tuple[str, dict[str, Any]]] = []
    for index, item in enumerate(items):
        where = f"{file}: [{index}]" if isinstance(document, list) else f"{file}:"
        if not isinstance(item, dict):
            raise fail(f"{where} a campaign must be a JSON object")
        out.append((where, item))
    return out


def _line(value: Any) -> None:
    typer.echo(orjson.dumps(value).decode())


@campaigns_app.command("create")
def create(  # noqa: PLR0917 - one parameter per command-line option
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Argument(help="Campaign JSON: one object or a list; '-' is stdin.")
    ],
    app_id: Annotated[str, typer.Option("--app", help="The app the campaigns belong to.")],
    db: DbOption = DEFAULT_DB,
    key_file: KeyFileOption = None,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """Create campaigns from a file (Draft unless the file says "state"); prints each created."""
    campaigns = _read_campaigns(file)

    async def job(admin: CampaignAdmin) -> None:
        from tidings.server.errors import ApiError

        for where, body in campaigns:
            try:
                _line(await admin.create(app_id, body))
            except ApiError as exc:
                exc.message = f"{where} {exc.message}"
                raise

    _run(ctx, job)


@campaigns_app.command("list")
def list_campaigns(  # noqa: PLR0917 - one parameter per command-line option
    ctx: typer.Context,
    app_id: Annotated[str, typer.Option("--app", help="The app whose campaigns to list.")],
    state: Annotated[State | None, typer.Option("--state", help="Only this state.")] = None,
    db: DbOption = DEFAULT_DB,
    key_file: KeyFileOption = None,
    server: ServerOption = None,
    token: TokenOption = None,
) -> None:
    """List an app's campaigns, one JSON object per line."""

    async def job(admin: CampaignAdmin) -> list[dict[str, Any]]:
        return await admin.list(app_id, state.value if state else None)

    for item in _run(ctx, job):
        _line(item)


CampaignId = Annotated[str, typer.Argument(help="The campaign id.")]
OneCampaignJob = Callable[[CampaignAdmin, str], Awaitable[dict[str, Any]]]


def _one_campaign_command(
    name: str, doc: str, job: OneCampaignJob, *, indent: bool = False
) -> None:
    """Register ``tidings campaigns NAME ID``: ``job`` on one campaign, its result printed."""

    def command(  # noqa: PLR0917 - one parameter per command-line option
        ctx: typer.Context,
        campaign_id: CampaignId,
        db: DbOption = DEFAULT_DB,
        key_file: KeyFileOption = None,
        server: ServerOption = None,
        token: TokenOption = None,
    ) -> None:
        result = _run(ctx, lambda admin: job(admin, campaign_id))
        typer.echo(orjson.dumps(result, option=orjson.OPT_INDENT_2 if indent else 0).decode())

    command.__doc__ = doc
    campaigns_app.command(name)(command)


_one_campaign_command(
    "show",
    "Print one campaign as indented JSON.",
    lambda admin, campaign_id: admin.show(campaign_id),
    indent=True,
)
_one_campaign_command(
    "start",
    "Make a Draft or stopped campaign Active (devices pick it up at their next config fetch).",
    lambda admin, campaign_id: admin.set_state(campaign_id, "Active"),
)
_one_campaign_command(
    "stop",
    "Stop an Active campaign (state Cancel); start brings it back.",
    lambda admin, campaign_id: admin.set_state(campaign_id, "Cancel"),
)
_one_campaign_command(
    "delete",
    "Delete a Draft or stopped campaign (stop an Active one first).",
    lambda admin, campaign_id: admin.delete(campaign_id),
)
