"""``tidings destinations`` for every kind, and ``tidings amplitude`` as its aliases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from tidings.cli import app as cli_app

KEY = bytes(range(32)).hex()
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
ADD = ("destinations", "add", "--kind")


def _json(output: str) -> Any:
    return orjson.loads(output)


def test_destinations_of_every_kind_from_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIDINGS_SECRET_KEY", KEY)
    db = f"sqlite:///{tmp_path / 't.db'}"
    cli = CliRunner()
    assert cli.invoke(cli_app, ["migrate", "--db", db]).exit_code == 0  # only it creates a file
    created = cli.invoke(
        cli_app, ["apps", "create", "--name", "A", "--platform", "ios", "--db", db]
    )
    assert created.exit_code == 0, created.output
    app_id = _json(created.stdout)["appId"]

    settings = orjson.dumps({"url": "https://example.org/hook", "secret": SECRET}).decode()
    hook = cli.invoke(
        cli_app,
        [*ADD, "webhook", "--app", app_id, "--settings", settings, "--name", "Hook", "--db", db],
    )
    assert hook.exit_code == 0, hook.output
    hook_id = _json(hook.stdout)["id"]
    assert _json(hook.stdout)["settings"]["secret"] == "whsec_***"

    amp = cli.invoke(
        cli_app, ["amplitude", "add", "--app", app_id, "--api-key", "k" * 32, "--db", db]
    )
    assert amp.exit_code == 0, amp.output
    amp_id = _json(amp.stdout)["id"]

    every = _json(cli.invoke(cli_app, ["destinations", "list", "--db", db]).stdout)
    assert {d["kind"] for d in every} == {"webhook", "amplitude"}
    only_amplitude = _json(cli.invoke(cli_app, ["amplitude", "list", "--db", db]).stdout)
    assert [d["id"] for d in only_amplitude] == [amp_id]

    paused = cli.invoke(cli_app, ["destinations", "pause", "--id", hook_id, "--db", db])
    assert _json(paused.stdout)["paused"]["reason"] == "paused by an operator"
    shown = _json(cli.invoke(cli_app, ["destinations", "show", "--id", hook_id, "--db", db]).stdout)
    assert shown["paused"] is not None and shown["outbox"] == 0 and shown["deadLetters"] == 0
    resumed = cli.invoke(cli_app, ["amplitude", "resume", "--instance", hook_id, "--db", db])
    assert _json(resumed.stdout)["paused"] is None

    letters = cli.invoke(
        cli_app, ["destinations", "dead-letters", "list", "--id", amp_id, "--db", db]
    )
    assert letters.exit_code == 0 and _json(letters.stdout) == []

    bad = cli.invoke(
        cli_app,
        [*ADD, "webhook", "--app", app_id, "--settings", "{}", "--db", db],
    )
    assert bad.exit_code == 2 and "settings.url" in bad.output

    removed = cli.invoke(cli_app, ["destinations", "remove", "--id", hook_id, "--db", db])
    assert removed.exit_code == 0
    missing = cli.invoke(cli_app, ["destinations", "show", "--id", hook_id, "--db", db])
    assert missing.exit_code == 1 and "not found" in missing.output
