"""The everyday commands, through the real ``tidings`` executable: ``--version``, ``apps list``,
campaigns on a database and on a running server, ``streams tail`` (and its old name)."""

from __future__ import annotations

import asyncio
import json
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from cli_support import KEY_VARIABLES, TIDINGS, clean_env, tidings

from loopback import ServeProcess, start_serve
from tidings.storage import open_store

ROOT = Path(__file__).resolve().parents[2]
WELCOME = {
    "id": "welcome",
    "name": "Welcome",
    "type": "DeepLink",
    "triggering": {"event": {"name": "SessionStarted", "type": "system"}},
    "targeting": [],
    "content": {"url": "myapp://welcome"},
}
THANKS = {
    "name": "Thanks",
    "type": "DeepLink",
    "triggering": {"event": {"name": "PurchaseCompleted", "type": "custom"}},
    "content": {"url": "myapp://thanks"},
}


def test_version_is_the_package_version() -> None:
    proc = tidings("--version")
    assert proc.returncode == 0
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert proc.stdout == f"tidings {version('tidings')}\n"
    assert version("tidings") == declared


@dataclass
class Db:
    """A migrated SQLite database with two apps, and the arguments that name it."""

    args: list[str]
    env: dict[str, str]
    apps: list[dict[str, str]]


@pytest.fixture
def db(tmp_path: Path) -> Db:
    """Made in this process (the commands under test are the ones that read it)."""
    url = f"sqlite:///{tmp_path / 'tidings.db'}"

    async def make() -> list[dict[str, str]]:
        store = await open_store(url)  # its key file goes beside it, where the commands look
        try:
            apps = []
            for name, project in (("Shop iOS", "Shop"), ("Blog", "Blog")):
                made = await store.create_project(project)
                apps.append((await store.create_app(made.id, name, "ios")).to_json())
            return apps
        finally:
            await store.close()

    env = clean_env()
    with pytest.MonkeyPatch.context() as patch:
        for name in KEY_VARIABLES:
            patch.delenv(name, raising=False)
        apps = asyncio.run(make())
    return Db(["--db", url], env, apps)


def test_apps_list(db: Db) -> None:
    listed = tidings("apps", "list", *db.args, env=db.env)
    assert listed.returncode == 0, listed.stderr
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(r["appId"], r["name"], r["project"]) for r in rows] == [
        (db.apps[0]["appId"], "Shop iOS", "Shop"),
        (db.apps[1]["appId"], "Blog", "Blog"),
    ]
    assert not any("apiKeySecret" in r or "writeKey" in r for r in rows)
    blog = tidings("apps", "list", "--project", "Blog", *db.args, env=db.env)
    assert [json.loads(line)["name"] for line in blog.stdout.splitlines()] == ["Blog"]
    unknown = tidings("apps", "list", "--project", "Nope", *db.args, env=db.env)
    assert unknown.returncode == 1
    assert unknown.stderr == "error: --project: no project named 'Nope'\n"


def _campaign_lifecycle(where: list[str], env: dict[str, str], app_id: str, tmp_path: Path) -> None:
    """The same story on a database and on a server: the same results, the same refusals."""
    source = tmp_path / "campaigns.json"
    source.write_text(json.dumps([WELCOME, THANKS]))
    made = tidings("campaigns", "create", str(source), "--app", app_id, *where, env=env)
    assert made.returncode == 0, made.stderr
    created = [json.loads(line) for line in made.stdout.splitlines()]
    assert [(c["name"], c["state"]) for c in created] == [("Welcome", "Draft"), ("Thanks", "Draft")]
    assert created[0]["id"] == "welcome"
    thanks = created[1]["id"]

    started = tidings("campaigns", "start", "welcome", *where, env=env)
    assert json.loads(started.stdout)["state"] == "Active", started.stderr
    active = tidings("campaigns", "list", "--app", app_id, "--state", "Active", *where, env=env)
    assert [json.loads(line)["id"] for line in active.stdout.splitlines()] == ["welcome"]
    shown = tidings("campaigns", "show", thanks, *where, env=env)
    assert json.loads(shown.stdout)["content"] == {"url": "myapp://thanks"}

    refused = tidings("campaigns", "delete", "welcome", *where, env=env)
    assert refused.returncode == 2
    assert refused.stderr == (
        "error: state: an Active campaign must be cancelled before deletion\n"
    )
    stopped = tidings("campaigns", "stop", "welcome", *where, env=env)
    assert json.loads(stopped.stdout)["state"] == "Cancel"
    deleted = tidings("campaigns", "delete", "welcome", *where, env=env)
    assert json.loads(deleted.stdout) == {"id": "welcome", "deleted": True}
    gone = tidings("campaigns", "show", "welcome", *where, env=env)
    assert (gone.returncode, gone.stderr) == (1, "error: id: no campaign 'welcome'\n")

    again = tidings("campaigns", "create", "-", "--app", app_id, *where, env=env, stdin="[{}]")
    assert again.returncode == 2
    assert again.stderr.startswith("error: -: [0] ") and "Traceback" not in again.stderr
    no_app = tidings("campaigns", "list", "--app", "app_nope", *where, env=env)
    assert (no_app.returncode, no_app.stderr) == (1, "error: appId: no app 'app_nope'\n")
    rest = tidings("campaigns", "list", "--app", app_id, *where, env=env)
    assert [json.loads(line)["id"] for line in rest.stdout.splitlines()] == [thanks]


def test_campaigns_on_a_database(db: Db, tmp_path: Path) -> None:
    _campaign_lifecycle(db.args, db.env, db.apps[0]["appId"], tmp_path)


@pytest.fixture
def server(db: Db) -> Iterator[tuple[ServeProcess, str]]:
    token = tidings("tokens", "create", *db.args, env=db.env).stdout.strip()
    served = start_serve(db.args[1], db.env, program=[TIDINGS])
    try:
        yield served, token
    finally:
        served.stop()


@pytest.mark.slow
def test_campaigns_on_a_running_server(
    db: Db, server: tuple[ServeProcess, str], tmp_path: Path
) -> None:
    served, token = server
    where = ["--server", served.base, "--token", token]
    _campaign_lifecycle(where, db.env, db.apps[0]["appId"], tmp_path)

    listed = tidings(
        "campaigns",
        "list",
        "--app",
        db.apps[0]["appId"],
        env={**db.env, "TIDINGS_ADMIN_TOKEN": token, "TIDINGS_SERVER": served.base},
    )
    assert listed.returncode == 0 and len(listed.stdout.splitlines()) == 1
    bad = tidings("campaigns", "list", "--app", "x", "--server", served.base, "--token", "nope")
    assert (bad.returncode, bad.stderr) == (
        2,
        "error: Authorization: unknown, revoked or expired admin token\n",
    )
    both = tidings("campaigns", "list", "--app", "x", *where, *db.args)
    assert (both.returncode, both.stderr) == (2, "error: --db and --server: give one of them\n")
    no_token = tidings("campaigns", "list", "--app", "x", "--server", served.base, env=db.env)
    assert no_token.returncode == 2 and "--token is required" in no_token.stderr


def test_an_unreachable_server_is_one_line() -> None:
    from loopback import free_port

    url = f"http://127.0.0.1:{free_port()}"
    proc = tidings("campaigns", "show", "c", "--server", url, "--token", "t")
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"error: cannot reach {url}: ")
    assert len(proc.stderr.splitlines()) == 1


def _records(db: Db, *command: str, limit: int) -> list[dict[str, Any]]:
    proc = tidings(*command, "--from-start", "--limit", str(limit), *db.args, env=db.env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "tailing from log position 0\n"
    return [json.loads(line) for line in proc.stdout.splitlines()]


def test_streams_tail_and_its_hidden_old_name(db: Db, tmp_path: Path) -> None:
    from tidings.core.bounds import TimeWindow
    from tidings.server.ingest import build_items
    from tidings.server.upload import parse_upload

    body = {
        "device": {"deviceId": "d-1", "platform": "iOS"},
        "sessions": [{"id": "s-1", "counter": 1, "type": "cold", "startedAt": 1000}],
        "events": [
            {
                "id": "e-1",
                "name": "SessionStarted",
                "type": "system",
                "timestamp": 1000,
                "sessionId": "s-1",
                "properties": {"type": "cold"},
            },
            {
                "id": "e-2",
                "name": "Opened",
                "type": "custom",
                "timestamp": 1500,
                "sessionId": "s-1",
                "properties": {},
            },
        ],
    }

    async def seed() -> None:
        key = bytes.fromhex((tmp_path / "tidings.db.key").read_text())
        store = await open_store(db.args[1], server_key=key)
        try:
            app_id = db.apps[0]["appId"]
            upload = parse_upload(body, app_id, 2000, window=TimeWindow(0, 2**53 - 1))
            events, decisions = build_items(upload)
            await store.ingest(app_id, events, decisions, arrival_ms=2000)
        finally:
            await store.close()

    asyncio.run(seed())
    new = _records(db, "streams", "tail", limit=2)
    assert [r["event_type"] for r in new] == ["_session.start", "Opened"]
    assert _records(db, "stream", "tail", limit=2) == new
    top = tidings("--help").stdout
    assert "streams" in top and not any(line.split()[:1] == ["stream"] for line in top.splitlines())


def test_stream_sink_errors_name_the_flag(db: Db) -> None:
    app_id = db.apps[0]["appId"]
    proc = tidings("streams", "add", "--kind", "jsonl", "--app", app_id, *db.args, env=db.env)
    assert (proc.returncode, proc.stderr) == (2, "error: --dir is required for --kind jsonl\n")
    proc = tidings("streams", "add", "--kind", "webhook", "--app", app_id, *db.args, env=db.env)
    assert (proc.returncode, proc.stderr) == (2, "error: --url is required for --kind webhook\n")


def test_server_campaigns_on_a_database(db: Db, tmp_path: Path) -> None:
    """``tidings campaigns`` takes a server campaign; its destination is checked by path."""
    app_id = db.apps[0]["appId"]
    url = db.args[1]

    async def destination() -> str:
        from tidings.pipeline.delivery import create_instance

        store = await open_store(url)
        try:
            body = {
                "kind": "webhook",
                "name": "Mailer",
                "settings": {
                    "url": "https://example.org/hook",
                    "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                },
                "subscriptions": [],
            }
            return (await create_instance(store, app_id, body)).id
        finally:
            await store.close()

    with pytest.MonkeyPatch.context() as patch:
        for name in KEY_VARIABLES:
            patch.delenv(name, raising=False)
        dst = asyncio.run(destination())
    campaign = {
        "id": "welcome-mail",
        "name": "Welcome mail",
        "type": "Webhook",
        "triggering": {"event": {"name": "Signed Up", "type": "custom"}},
        "content": {"destinationId": dst, "body": {"to": "{{traits.email}}"}},
    }
    source = tmp_path / "server.json"
    source.write_text(json.dumps(campaign))
    made = tidings("campaigns", "create", str(source), "--app", app_id, *db.args, env=db.env)
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["type"] == "Webhook"
    started = tidings("campaigns", "start", "welcome-mail", *db.args, env=db.env)
    assert json.loads(started.stdout)["state"] == "Active", started.stderr
    source.write_text(
        json.dumps({**campaign, "id": "other", "content": {"destinationId": "x", "body": {}}})
    )
    refused = tidings("campaigns", "create", str(source), "--app", app_id, *db.args, env=db.env)
    assert refused.returncode == 2
    assert "content.destinationId: no destination 'x'" in refused.stderr
