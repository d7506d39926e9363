"""``tidings streams preview`` and ``tidings streams run`` end to end."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
from typer.testing import CliRunner

import tidings.cli.streams  # noqa: F401  (registers the sub-command)
from tidings.cli.app import app
from tidings.core.bounds import TimeWindow
from tidings.server.ingest import build_items
from tidings.server.upload import parse_upload
from tidings.storage import open_store
from tidings.storage.serverkey import load_server_key
from tidings.streams.jsonl import read_jsonl_dir

BODY: dict[str, Any] = {
    "device": {"deviceId": "dev-1", "platform": "iOS", "locale": "en_US"},
    "user": {"userId": None},
    "sessions": [{"id": "s-1", "counter": 1, "type": "cold", "startedAt": 100, "endedAt": None}],
    "events": [
        {
            "id": "e-1",
            "name": "SessionStarted",
            "type": "system",
            "timestamp": 100,
            "sessionId": "s-1",
            "properties": {"type": "cold"},
        },
        {
            "id": "e-2",
            "name": "PurchaseCompleted",
            "type": "custom",
            "timestamp": 200,
            "sessionId": "s-1",
            "properties": {"price": 3},
        },
    ],
    "decisions": [
        {
            "id": "d-1",
            "campaignId": "c-1",
            "status": "HOLDOUT",
            "treatmentId": "0",
            "source": "PurchaseCompleted",
            "eventId": "e-2",
            "timestamp": 200,
        }
    ],
}


EVERY_TIME = TimeWindow(0, 2**53 - 1)
"""BODY keeps small timestamps: records are the point here, not the time range."""


def test_preview_prints_one_record_per_line(tmp_path: Path) -> None:
    path = tmp_path / "upload.json"
    path.write_bytes(orjson.dumps(BODY))
    result = CliRunner().invoke(app, ["streams", "preview", str(path), "--app", "app-1"])
    assert result.exit_code == 0, result.output
    records = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert [r["event_type"] for r in records] == [
        "_session.start",
        "PurchaseCompleted",
        "_monetization.purchase",
        "_campaign.send",
    ]
    assert all(r["arrival_timestamp"] == 200 for r in records)
    assert records[-1]["attributes"]["campaign_send_status"] == "HOLDOUT"


def test_preview_names_the_bad_field(tmp_path: Path) -> None:
    bad = {**BODY, "decisions": [{"id": "d", "campaignId": "c", "status": "X"}]}
    path = tmp_path / "upload.json"
    path.write_bytes(orjson.dumps(bad))
    result = CliRunner().invoke(app, ["streams", "preview", str(path), "--app", "a"])
    assert result.exit_code == 2
    assert "decisions[0].timestamp" in result.output


def test_run_once_streams_the_log_to_jsonl(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'log.db'}"
    key = load_server_key(Path(f"{tmp_path / 'log.db'}.key"))

    async def seed() -> str:
        store = await open_store(db, server_key=key)
        try:
            project = await store.create_project("p")
            app_id = (await store.create_app(project.id, "Demo", "ios")).app_id
            events, decisions = build_items(parse_upload(BODY, app_id, 1000, window=EVERY_TIME))
            await store.ingest(app_id, events, decisions, arrival_ms=300)
            return app_id
        finally:
            await store.close()

    app_id = asyncio.run(seed())
    out = tmp_path / "out"
    args = ["streams", "run", "--db", db, "--dir", str(out), "--once"]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "3 log rows, 4 records" in first.output
    again = CliRunner().invoke(app, args)  # the cursor remembers: nothing new
    assert again.exit_code == 0, again.output
    assert "0 log rows" in again.output
    records = read_jsonl_dir(out / app_id)
    assert [r["event_id"] for r in records] == ["e-1", "e-2", "e-2/_monetization.purchase", "d-1"]


def test_run_needs_a_target(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["streams", "run", "--sink", "webhook", "--db", f"sqlite:///{tmp_path / 'x.db'}"]
    )
    assert result.exit_code == 2
    assert "--url" in result.output


def test_add_list_pause_resume_remove(tmp_path: Path) -> None:
    db_file = tmp_path / "cfg.db"
    db = f"sqlite:///{db_file}"
    key = load_server_key(Path(f"{db_file}.key"))

    async def seed() -> str:
        store = await open_store(db, server_key=key)
        try:
            project = await store.create_project("p")
            return (await store.create_app(project.id, "Demo", "ios")).app_id
        finally:
            await store.close()

    app_id = asyncio.run(seed())
    runner = CliRunner()
    added = runner.invoke(
        app,
        [
            "streams",
            "add",
            "--kind",
            "webhook",
            "--app",
            app_id,
            "--db",
            db,
            "--url",
            "http://127.0.0.1:9/hook",
            "--header",
            "Authorization: Bearer s3cret",
        ],
    )
    assert added.exit_code == 0, added.output
    sink = orjson.loads(added.stdout)
    assert sink["kind"] == "webhook" and sink["appIds"] == [app_id]
    assert sink["settings"]["headers"] == {"Authorization": "***"}
    nats = runner.invoke(
        app,
        [
            "streams",
            "add",
            "--kind",
            "nats",
            "--app",
            app_id,
            "--db",
            db,
            "--from-start",
            "--server",
            "nats://127.0.0.1:4222",
            "--stream-prefix",
            "CLI",
        ],
    )
    assert nats.exit_code == 0, nats.output
    listed = runner.invoke(app, ["streams", "list", "--db", db])
    ids = [orjson.loads(line)["id"] for line in listed.stdout.splitlines()]
    assert ids == [sink["id"], orjson.loads(nats.stdout)["id"]]
    assert runner.invoke(app, ["streams", "list", "--db", db, "--app", "other"]).stdout == ""

    paused = runner.invoke(app, ["streams", "pause", sink["id"], "--db", db])
    assert orjson.loads(paused.stdout)["paused"] is True
    resumed = runner.invoke(app, ["streams", "resume", sink["id"], "--db", db])
    assert orjson.loads(resumed.stdout)["enabled"] is True
    removed = runner.invoke(app, ["streams", "remove", sink["id"], "--db", db])
    assert orjson.loads(removed.stdout) == {"id": sink["id"], "deleted": True}
    again = runner.invoke(app, ["streams", "remove", sink["id"], "--db", db])
    assert again.exit_code == 1 and "no stream" in again.output  # not found: 1, like the others

    bad = runner.invoke(
        app, ["streams", "add", "--kind", "jsonl", "--app", app_id, "--db", db, "--max-bytes", "5"]
    )
    assert bad.exit_code == 2
    assert bad.output == "error: --dir is required for --kind jsonl\n"  # the flag, not the field
    small = runner.invoke(
        app,
        [
            "streams",
            "add",
            "--kind",
            "jsonl",
            "--app",
            app_id,
            "--db",
            db,
            "--dir",
            "x",
            "--max-bytes",
            "5",
        ],
    )
    assert small.output == "error: --max-bytes: must be at least 1024\n"
    unknown_app = runner.invoke(
        app, ["streams", "add", "--kind", "jsonl", "--app", "nope", "--db", db, "--dir", "x"]
    )
    assert unknown_app.exit_code == 2 and "--app: no app 'nope'" in unknown_app.output
