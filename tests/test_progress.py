"""Long commands show a progress bar on a terminal and nothing extra when piped or asked for JSON (issue 18,
point 6): the bar itself, and real `cockpit` processes on a pseudo-terminal and on pipes."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from cockpit.cli.common import ProgressBar
from tests.processes import on_a_terminal


class FakeTerminal(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def on_terminals(monkeypatch: pytest.MonkeyPatch) -> FakeTerminal:
    """stdout a terminal (in the test itself: pytest sets its own between a fixture and the test), and the
    stream for the bar another."""
    monkeypatch.setattr(sys, "stdout", FakeTerminal(True))
    return FakeTerminal(True)


def test_the_bar_shows_done_of_total_and_the_time_left_then_clears(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = on_terminals(monkeypatch)
    bar = ProgressBar("scoring", "accounts", stream=terminal)
    bar.started -= 10.0  # as if ten seconds had passed
    bar(2_500, 10_000)
    drawn = terminal.getvalue()
    assert "scoring [######------------------] 2,500/10,000 accounts  25%  30 s left" in drawn
    bar.finish()
    assert terminal.getvalue().endswith("\r" + " " * (len(drawn) - 1) + "\r")


def test_without_a_total_the_count_and_the_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = on_terminals(monkeypatch)
    bar = ProgressBar("importing", "rows", stream=terminal)
    bar.started -= 2.0
    bar(10_000)
    assert "importing 10,000 rows  5,000 rows/s" in terminal.getvalue()


@pytest.mark.parametrize(
    ("stderr_tty", "stdout_tty", "as_json"), [(False, True, False), (True, False, False), (True, True, True)]
)
def test_no_bar_off_a_terminal_or_with_json(
    monkeypatch: pytest.MonkeyPatch, stderr_tty: bool, stdout_tty: bool, as_json: bool
) -> None:
    monkeypatch.setattr(sys, "stdout", FakeTerminal(stdout_tty))
    stream = FakeTerminal(stderr_tty)
    bar = ProgressBar("scoring", "accounts", as_json=as_json, stream=stream)
    bar(5, 10)
    bar.finish()
    assert stream.getvalue() == ""


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("progress") / "book.db"
    done = subprocess.run(
        [sys.executable, "-m", "cockpit", "demo", "--accounts", "60", "--no-open", "--db", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return path


@pytest.mark.slow
@pytest.mark.parametrize(
    ("command", "label", "summary"),
    [
        (("score",), "scoring [", "Scored "),
        (("outreach", "plan", "--full"), "planning [", "Planned "),
        (("clv", "fit"), "fitting [", "Valued "),
    ],
)
def test_a_terminal_sees_the_bar_and_a_pipe_only_the_summary(
    book: Path, command: tuple[str, ...], label: str, summary: str
) -> None:
    if command[0] != "score":
        assert (
            subprocess.run(
                [sys.executable, "-m", "cockpit", "score", "--db", str(book)], check=False
            ).returncode
            == 0
        )
    shown = on_a_terminal([*command, "--db", str(book)]).decode(errors="replace")
    assert label in shown and ("s left" in shown or "100%" in shown)
    assert summary in shown
    piped = subprocess.run(
        [sys.executable, "-m", "cockpit", *command, "--db", str(book)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert piped.returncode == 0, piped.stderr
    assert summary in piped.stdout
    assert "\r" not in piped.stdout + piped.stderr and label not in piped.stdout + piped.stderr
    as_json = on_a_terminal([*command, "--json", "--db", str(book)]).decode(errors="replace")
    assert label not in as_json
