"""``tidings campaigns validate``: exit codes and one ``FILE: path: reason`` line per error."""

from __future__ import annotations

import json
from pathlib import Path

from campaign_builders import campaign_json
from typer.testing import CliRunner

import tidings.cli.campaigns  # noqa: F401  (registers the sub-command)
from tidings.cli.app import app

runner = CliRunner()


def write(tmp_path: Path, name: str, content: object) -> Path:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def test_valid_files_exit_zero(tmp_path: Path) -> None:
    one = write(tmp_path, "one.json", campaign_json())
    many = write(tmp_path, "many.json", [campaign_json("a"), campaign_json("b")])
    result = runner.invoke(app, ["campaigns", "validate", str(one), str(many)])
    assert result.exit_code == 0, result.output
    assert f"{one}: ok (1 campaign)" in result.output
    assert f"{many}: ok (2 campaigns)" in result.output


def test_errors_exit_two_with_file_and_path(tmp_path: Path) -> None:
    bad_repeat = campaign_json(
        "a", repeat={"repeatType": "every", "repeatEntity": "event", "repeatValue": [0]}
    )
    bad_type = campaign_json("b", type="Popup")
    listed = write(tmp_path, "list.json", [campaign_json("ok"), bad_repeat, bad_type])
    single = write(tmp_path, "single.json", bad_repeat)
    good = write(tmp_path, "good.json", campaign_json())
    result = runner.invoke(app, ["campaigns", "validate", str(good), str(listed), str(single)])
    assert result.exit_code == 2
    lines = result.output.splitlines()
    assert f"{listed}: [1].triggering.repeat.repeatValue[0]: must be an integer >= 1" in lines
    assert f"{listed}: [2].type: must be one of DeepLink, RateReview, Webhook" in lines
    assert f"{single}: triggering.repeat.repeatValue[0]: must be an integer >= 1" in lines


def test_unreadable_and_malformed_files(tmp_path: Path) -> None:
    broken = write(tmp_path, "broken.json", "{not json")
    missing = tmp_path / "missing.json"
    result = runner.invoke(app, ["campaigns", "validate", str(broken), str(missing)])
    assert result.exit_code == 2
    assert f"{broken}: : not valid JSON" in result.output
    assert f"{missing}: : cannot read file" in result.output


def test_duplicate_ids_in_one_file(tmp_path: Path) -> None:
    dup = write(tmp_path, "dup.json", [campaign_json("a"), campaign_json("a")])
    result = runner.invoke(app, ["campaigns", "validate", str(dup)])
    assert result.exit_code == 2
    assert f"{dup}: [1].id: duplicate campaign id 'a'" in result.output
