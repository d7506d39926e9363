"""How every command meets its database, through the real ``tidings`` executable.

* A database that cannot be opened (unreachable, misnamed) is one line naming it without its
  password, and exit status 2, whatever the command.
* A SQLite path where no database is: ``serve`` and ``migrate`` create one and say where; every
  other command refuses instead of answering from a new, empty database.
* PostgreSQL: every command that shares a database shares its server key, whatever the folder
  it runs in; a process with another key is stopped at once, told how to give the right one.
"""

from __future__ import annotations

import asyncio
import re
import socket
from pathlib import Path

import orjson
import pytest
from cli_support import clean_env, tidings

from loopback import free_port, start_serve
from tidings.storage import open_store
from tidings.storage.serverkey import fingerprint

# Every command that opens a database, with the arguments it needs besides --db.
COMMANDS = {
    "serve": ["serve", "--port", "0"],
    "migrate": ["migrate"],
    "worker": ["worker"],
    "apps create": ["apps", "create", "--name", "A", "--platform", "ios"],
    "apps list": ["apps", "list"],
    "tokens create": ["tokens", "create"],
    "campaigns list": ["campaigns", "list", "--app", "app_x"],
    "streams list": ["streams", "list"],
    "streams add": ["streams", "add", "--kind", "jsonl", "--app", "app_x", "--dir", "out"],
    "streams tail": ["streams", "tail"],
    "stream tail": ["stream", "tail"],
    "streams run": ["streams", "run", "--dir", "out", "--once"],
    "amplitude list": ["amplitude", "list"],
}
NOT_CREATING = [name for name in COMMANDS if name not in ("serve", "migrate")]


def sweep(names: list[str], quick: tuple[str, ...]) -> list[object]:
    """Every command in the full run; in the quick run (-m "not slow") only ``quick`` ones."""
    return [
        pytest.param(name, marks=() if name in quick else pytest.mark.slow)
        for name in sorted(names)
    ]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip() and "worker on" not in line]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


@pytest.mark.parametrize("command", sweep(list(COMMANDS), ("serve", "apps create", "stream tail")))
def test_an_unreachable_database_is_one_line_and_exit_2(command: str, tmp_path: Path) -> None:
    port = _closed_port()
    url = f"postgresql://tidings:s3cret@127.0.0.1:{port}/tidings"
    proc = tidings(*COMMANDS[command], "--db", url, env=clean_env(), cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    line = _one_error_line(proc.stderr)
    assert line.startswith(f"error: cannot open postgresql://tidings@127.0.0.1:{port}/tidings: ")
    assert "Connection refused" in line
    assert "s3cret" not in proc.stderr + proc.stdout


@pytest.mark.parametrize("command", sweep(["serve", "apps list", "amplitude list"], ("apps list",)))
def test_a_misnamed_database_names_what_is_wrong(
    command: str, postgres_url: str, tmp_path: Path
) -> None:
    url = re.sub(r"/test\?", "/no_such_database?", postgres_url)
    proc = tidings(*COMMANDS[command], "--db", url, env=clean_env(), cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    line = _one_error_line(proc.stderr)
    assert line.startswith("error: cannot open postgresql://")
    assert 'database "no_such_database" does not exist' in line


@pytest.mark.parametrize(
    ("url", "flag_message"),
    [
        ("sqlite://tidings.db", "error: --db: a sqlite URL has three slashes"),
        ("mysql://db/x", "error: --db: unsupported database URL scheme 'mysql'"),
    ],
)
def test_a_malformed_url_names_the_flag(url: str, flag_message: str, tmp_path: Path) -> None:
    proc = tidings("apps", "list", "--db", url, env=clean_env(), cwd=tmp_path)
    assert proc.returncode == 2
    assert _one_error_line(proc.stderr).startswith(flag_message)


@pytest.mark.parametrize("command", sweep(NOT_CREATING, ("apps list", "worker")))
def test_commands_other_than_serve_and_migrate_refuse_a_missing_sqlite_file(
    command: str, tmp_path: Path
) -> None:
    proc = tidings(*COMMANDS[command], "--db", "sqlite:///./typo.db", env=clean_env(), cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    line = _one_error_line(proc.stderr)
    assert line.startswith(f"error: no database at {tmp_path / 'typo.db'}")
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no database, no key file


def test_migrate_creates_a_database_and_says_where(tmp_path: Path) -> None:
    proc = tidings("migrate", "--db", "sqlite:///./data/new.db", env=clean_env(), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    where = tmp_path / "data" / "new.db"
    assert f"created new database at {where}\n" in proc.stderr
    assert f"created server key file {where}.key" in proc.stderr
    again = tidings("migrate", "--db", "sqlite:///./data/new.db", env=clean_env(), cwd=tmp_path)
    assert again.returncode == 0 and "created" not in again.stderr
    listed = tidings(
        "apps", "list", "--db", "sqlite:///./data/new.db", env=clean_env(), cwd=tmp_path
    )
    assert listed.returncode == 0 and listed.stdout == ""


@pytest.mark.slow
def test_serve_creates_a_database_and_says_where(tmp_path: Path) -> None:
    from cli_support import TIDINGS

    served = start_serve("sqlite:///./first.db", clean_env(), program=[TIDINGS], cwd=str(tmp_path))
    try:
        assert f"created new database at {tmp_path / 'first.db'}\n" in "".join(served.log)
    finally:
        served.stop()


def _app_secret_readable(url: str, key: bytes, creds: dict[str, str]) -> bool:
    async def check() -> bool:
        store = await open_store(url, server_key=key)
        try:
            found = await store.signing_key(creds["apiKeyPublic"])
            return found is not None and found.secret == creds["apiKeySecret"].encode()
        finally:
            await store.close()

    return asyncio.run(check())


def test_postgres_commands_share_the_key_whatever_their_folder(
    postgres_url: str, tmp_path: Path
) -> None:
    config = tmp_path / "config"
    env = clean_env(XDG_CONFIG_HOME=str(config))
    made = []
    for folder in ("ops", "elsewhere"):
        (tmp_path / folder).mkdir()
        proc = tidings(
            *COMMANDS["apps create"], "--db", postgres_url, env=env, cwd=tmp_path / folder
        )
        assert proc.returncode == 0, proc.stderr
        made.append(orjson.loads(proc.stdout))
        assert list((tmp_path / folder).iterdir()) == []  # no key file in the current folder
    key = bytes.fromhex((config / "tidings" / "server.key").read_text())
    assert all(_app_secret_readable(postgres_url, key, creds) for creds in made)


def test_another_key_stops_every_command_at_once_naming_the_fix(
    postgres_url: str, tmp_path: Path
) -> None:
    key = bytes(range(32))
    key_file = tmp_path / "server.key"
    key_file.write_text(key.hex())
    env = clean_env(XDG_CONFIG_HOME=str(tmp_path / "empty-config"))
    made = tidings("migrate", "--db", postgres_url, "--key-file", str(key_file), env=env)
    assert made.returncode == 0, made.stderr

    other = bytes(range(1, 33))
    for command in ("serve", "apps create", "tokens create", "worker"):
        proc = tidings(
            *COMMANDS[command],
            "--db",
            postgres_url,
            env=clean_env(TIDINGS_SECRET_KEY=other.hex()),
            cwd=tmp_path,
            timeout=30,
        )
        assert proc.returncode == 2, proc.stderr
        line = _one_error_line(proc.stderr)
        assert fingerprint(key) in line and fingerprint(other) in line
        assert "--key-file" in line and "TIDINGS_SECRET_KEY" in line

    missing = tidings(*COMMANDS["apps list"], "--db", postgres_url, env=env, cwd=tmp_path)
    assert missing.returncode == 2
    assert _one_error_line(missing.stderr).startswith("error: no server key for postgresql://")
    assert not (tmp_path / "empty-config").exists()  # no second key was made

    given = tidings(
        *COMMANDS["apps create"], "--db", postgres_url, "--key-file", str(key_file), env=env
    )
    assert given.returncode == 0, given.stderr
    assert _app_secret_readable(postgres_url, key, orjson.loads(given.stdout))


@pytest.mark.parametrize("command", sweep(["serve", "apps create", "worker"], ("apps create",)))
def test_help_names_the_key_options(command: str) -> None:
    proc = tidings(*command.split(), "--help")
    assert proc.returncode == 0
    text = " ".join(proc.stdout.split())
    assert "--key-file" in text and "TIDINGS_SECRET_KEY" in text
    assert "~/.config/tidings/server.key" in text


@pytest.mark.slow
def test_serve_refuses_another_key_before_listening(postgres_url: str, tmp_path: Path) -> None:
    """The server used to start and answer every device 503; now it does not start at all."""
    key_file = tmp_path / "k"
    key_file.write_text(bytes(32).hex())
    assert tidings("migrate", "--db", postgres_url, "--key-file", str(key_file)).returncode == 0
    port = free_port()
    proc = tidings(
        "serve",
        "--db",
        postgres_url,
        "--port",
        str(port),
        env=clean_env(TIDINGS_SECRET_KEY=bytes(range(32)).hex()),
        timeout=30,
    )
    assert proc.returncode == 2
    assert "Uvicorn running" not in proc.stdout + proc.stderr


def test_the_commands_default_database_is_the_libraries() -> None:
    """The command line keeps its own copy (importing storage would slow every --help)."""
    from tidings.cli.database import DEFAULT_DB
    from tidings.storage import DEFAULT_DB_URL

    assert DEFAULT_DB == DEFAULT_DB_URL
