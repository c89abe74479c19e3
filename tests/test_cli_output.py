"""What the command line prints, as a terminal shows it: help texts whole, no colour under NO_COLOR, and
`doctor --json`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cockpit.cli import app
from tests.processes import on_a_terminal

runner = CliRunner()


def help_text(*command: str) -> str:
    """The help of `command`, its panels' borders and line breaks taken out."""
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    return " ".join(re.sub("[│╭╮╰╯─]", " ", result.stdout).split())


def test_help_texts_quote_config_tables_whole() -> None:
    """A config table in a help text is text, not markup for Rich to swallow."""
    assert "A saved view of [[ui.views]], e.g. 'Save now'." in help_text("accounts", "list")
    assert "A column-mapping profile (see [import.profiles])." in help_text("import")


@pytest.mark.slow
def test_no_color_leaves_out_every_escape_sequence(tmp_path: Path) -> None:
    db = str(tmp_path / "none.db")  # no database: doctor fails (red) and a command reports the error (red)
    commands = [
        ["--help"],
        ["accounts", "list", "--help"],
        ["doctor", "--db", db],
        ["accounts", "list", "--db", db],
    ]
    assert b"\x1b[" in on_a_terminal(
        ["doctor", "--db", db], exit_code=None
    )  # in colour on a terminal, without NO_COLOR
    for command in commands:
        written = on_a_terminal(command, {"NO_COLOR": "1"}, exit_code=None)
        assert written.strip() and b"\x1b" not in written, (command, written[:200])


def test_doctor_json(tmp_path: Path) -> None:
    db = tmp_path / "ok.db"
    assert runner.invoke(app, ["init", "--db", str(db)]).exit_code == 0
    result = runner.invoke(app, ["doctor", "--db", str(db), "--json"])
    assert result.exit_code == 0, result.output
    checks = {check["name"]: check for check in json.loads(result.stdout)}
    assert checks["config"]["status"] == checks["schema"]["status"] == "ok"
    assert set(checks["config"]) == {"name", "status", "detail", "fix"}

    result = runner.invoke(app, ["doctor", "--db", str(tmp_path / "none.db"), "--json"])
    assert result.exit_code == 3  # the exit code says the same as without --json
    failed = [check for check in json.loads(result.stdout) if check["status"] == "fail"]
    assert failed[0]["name"] == "database" and "cockpit init" in failed[0]["fix"]
