from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from typer.core import TyperGroup
from typer.main import get_command
from typer.testing import CliRunner

from cockpit import __version__
from cockpit.cli import app
from cockpit.store import open_store
from cockpit.store.migrations import MIGRATION_SET

runner = CliRunner()
ROOT = Path(__file__).resolve().parent.parent


def all_command_paths() -> list[list[str]]:
    def walk(command: Any, prefix: list[str]) -> list[list[str]]:
        found = [prefix]
        if isinstance(command, TyperGroup):
            for name, sub in command.commands.items():
                found += walk(sub, [*prefix, name])
        return found

    paths = walk(get_command(app), [])
    assert ["import"] in paths and ["demo"] in paths  # the walk must reach the commands
    return paths


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"cockpit {__version__}"


@pytest.mark.parametrize("flag", ["-h", "--help"])
@pytest.mark.slow
def test_every_command_has_help(flag: str) -> None:
    for path in all_command_paths():
        result = runner.invoke(app, [*path, flag])
        assert result.exit_code == 0, path
        assert "Usage" in result.stdout, path
        command: Any = get_command(app)
        for name in path:
            command = command.commands[name]
        assert command.help, f"{path} has no help text"


HEAVY_MODULES = [
    "numpy",
    "scipy",
    "sqlite_utils",
    "httpx",
    "jinja2",
    "textual",
    "cockpit.config",
    "cockpit.domain.records",
]
"""What only a running command needs: the store, the models and the libraries of the services. (Typer loads
pydantic itself to convert option values; building our config and record models is the slow part.)"""

# Starts the entry point in one process, in turn for each [arguments, environment]; gives back for each what it
# printed and the heavy modules loaded by then.
_RUN_IN_TURN = """
import contextlib, io, json, os, sys
from cockpit.cli import main
heavy, runs, done = json.loads(sys.argv[1]), json.loads(sys.argv[2]), []
for args, env in runs:
    sys.argv[:] = ["cockpit", *args]
    os.environ.update(env)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        try:
            main()
        except SystemExit:
            pass
    for name in env:
        del os.environ[name]
    done.append([printed.getvalue(), [name for name in heavy if name in sys.modules]])
print(json.dumps(done))
"""


@dataclass(frozen=True)
class Run:
    """One start of the program: its arguments and what it adds to the environment."""

    args: list[str]
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Ran:
    run: Run
    printed: str
    loaded: list[str]
    """The heavy modules loaded by the end of this run (and of the runs before it)."""


def run_in_turn(runs: list[Run]) -> list[Ran]:
    given = [[run.args, run.env] for run in runs]
    result = subprocess.run(
        [sys.executable, "-c", _RUN_IN_TURN, json.dumps(HEAVY_MODULES), json.dumps(given)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    done = json.loads(result.stdout.splitlines()[-1])
    return [Ran(run, printed, loaded) for run, (printed, loaded) in zip(runs, done, strict=True)]


def test_version_and_help_load_no_heavy_module() -> None:
    """`--version` and every help page answer from the command definitions alone: the store, the models and
    the services load in the command that runs (issue 12: a command line that answers at once)."""
    version, *helps = run_in_turn(
        [Run(["--version"]), *(Run([*path, "--help"]) for path in all_command_paths())]
    )
    assert version.printed.strip() == f"cockpit {__version__}"
    for ran in (version, *helps):
        assert ran.run is version.run or "Usage" in ran.printed, ran
        assert ran.loaded == [], f"cockpit {' '.join(ran.run.args)} loaded {', '.join(ran.loaded)}"


def completion(words: str, shell: str = "bash") -> Run:
    """A Tab completion request as the shell script of `cockpit --show-completion` makes it."""
    if shell == "bash":
        typed = len(words.split())
        env = {"COMP_WORDS": words, "COMP_CWORD": str(typed if words.endswith(" ") else typed - 1)}
    else:
        env = {"_TYPER_COMPLETE_ARGS": words}
    return Run([], {"_COCKPIT_COMPLETE": f"complete_{shell}", **env})


def test_tab_completion_answers_without_heavy_modules() -> None:
    commands, options, kinds = run_in_turn(
        [
            completion("cockpit ac"),
            completion("cockpit accounts list --s", "zsh"),
            completion("cockpit import "),
        ]
    )
    assert commands.printed.split() == ["accounts"]
    assert '"--sort":"Sort key (name, owner' in options.printed
    assert {"accounts", "usage", "transactions"} <= set(kinds.printed.split())
    for ran in (commands, options, kinds):
        assert ran.loaded == [], f"{ran.run.env} loaded {', '.join(ran.loaded)}"


def test_init_creates_then_reports_up_to_date(tmp_path: Path) -> None:
    db = tmp_path / "mine.db"
    first = runner.invoke(app, ["init", "--db", str(db)])
    assert first.exit_code == 0
    assert first.stdout.strip() == str(db)
    assert "Created" in first.stderr
    second = runner.invoke(app, ["--db", str(db), "init"])
    assert second.exit_code == 0
    assert "up to date" in second.stderr


def test_cockpit_db_environment_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "env.db"
    monkeypatch.setenv("COCKPIT_DB", str(db))
    assert runner.invoke(app, ["init"]).exit_code == 0
    assert db.exists()


def test_doctor_on_a_healthy_database(tmp_path: Path) -> None:
    db = tmp_path / "ok.db"
    runner.invoke(app, ["init", "--db", str(db)])
    result = runner.invoke(app, ["doctor", "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "ok    config" in result.stdout
    assert "ok    schema" in result.stdout


def test_doctor_reports_each_problem_with_a_fix(tmp_path: Path) -> None:
    bad_config = tmp_path / "bad.toml"
    bad_config.write_text("[ui]\npage_size = 'many'\n")
    result = runner.invoke(app, ["doctor", "--db", str(tmp_path / "none.db"), "--config", str(bad_config)])
    assert result.exit_code == 3  # the gravest failure: the database
    assert "FAIL  config" in result.stdout
    assert "ui.page_size" in result.stdout
    assert "FAIL  database" in result.stdout
    assert "cockpit init" in result.stdout


def test_doctor_names_a_missing_crm_token(tmp_path: Path) -> None:
    db = tmp_path / "ok.db"
    runner.invoke(app, ["init", "--db", str(db)])
    config = tmp_path / "crm.toml"
    config.write_text("[crm.hubspot]\nenabled = true\n")
    result = runner.invoke(app, ["doctor", "--db", str(db), "--config", str(config)])
    assert result.exit_code == 1
    assert "$COCKPIT_HUBSPOT_TOKEN is not set" in result.stdout


def test_bad_config_stops_with_file_key_and_code_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[health]\ngreen_mni = 80\n")
    result = runner.invoke(app, ["init", "--db", str(tmp_path / "x.db"), "--config", str(bad)])
    assert result.exit_code == 2
    assert f"error: {bad}: health.green_mni: unknown key" in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "x.db").exists()


def test_missing_database_folder(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--db", str(tmp_path / "nowhere" / "x.db")])
    assert result.exit_code == 3
    assert "does not exist" in result.stderr
    assert "Traceback" not in result.output


def test_database_from_the_future(tmp_path: Path) -> None:
    db = tmp_path / "future.db"
    store = open_store(db, create=True)
    with store.write() as conn:
        conn.table("_sqlite_migrations").insert(
            {"migration_set": MIGRATION_SET, "name": "0099_later", "applied_at": "2030-01-01"}
        )
    store.close()
    result = runner.invoke(app, ["init", "--db", str(db)])
    assert result.exit_code == 3
    assert "newer version" in result.stderr
    assert "Upgrade cockpit" in result.stderr


def test_tui_refuses_without_a_terminal(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    runner.invoke(app, ["init", "--db", str(db)])
    result = runner.invoke(app, ["--db", str(db)])
    assert result.exit_code == 1
    assert "needs a terminal" in result.stderr


def test_console_script_runs_without_a_traceback(tmp_path: Path) -> None:
    """The installed entry point, in a real process: a user mistake gives a message, not a traceback."""
    result = subprocess.run(
        [sys.executable, "-m", "cockpit", "doctor", "--db", str(tmp_path / "none" / "x.db")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 3
    assert "Traceback" not in result.stderr + result.stdout
