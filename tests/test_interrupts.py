"""Ctrl-C at any moment, in real processes: exit code 130, a sentence saying what the interrupt left (nothing,
when nothing was written), never a traceback, and the database as it was.

Each interrupt is sent to the command's process group, as a terminal sends it, at a moment the test sees
from outside: a library the startup loads appearing in the process's memory map, the import's read
position in its file, the scoring run holding the database's write lock.
"""

from __future__ import annotations

import os
import pty
import re
import select
import shutil
import signal
import sqlite3
import subprocess
import sys
import tomllib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from cockpit import resources
from cockpit.clock import fixed_clock
from cockpit.config import load_settings
from cockpit.services.demo import build_demo
from tests.clocks import PINNED_NOW
from tests.processes import PROC, children, needs_proc, running, wait_until

pytestmark = [needs_proc, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
NOTHING_WRITTEN = "interrupted; nothing was written."


def console_script() -> list[str]:
    """The `cockpit` command as pip installs it from pyproject.toml: import the entry point, call it."""
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    module, function = scripts["cockpit"].split(":")
    return [sys.executable, "-c", f"import sys; from {module} import {function}; sys.exit({function}())"]


ENTRY_POINTS = {"python -m cockpit": [sys.executable, "-m", "cockpit"], "console script": console_script()}


class Terminal:
    """A pseudo-terminal for a command: what the command printed on it so far, read without waiting."""

    def __init__(self) -> None:
        self.screen, self.command_side = pty.openpty()
        self.printed = ""

    def read(self) -> str:
        while select.select([self.screen], [], [], 0)[0]:
            try:
                chunk = os.read(self.screen, 1 << 16)
            except OSError:  # the command has ended and closed its side
                break
            if not chunk:
                break
            self.printed += chunk.decode(errors="replace")
        return self.printed

    def close(self) -> None:
        os.close(self.screen)


def start(entry: list[str], *args: str, terminal: Terminal | None = None) -> subprocess.Popen[str]:
    """The command in a process group of its own (as a shell's job), its output captured, or on `terminal`
    (standard input, output and error), as a user runs it."""
    process = subprocess.Popen(
        [*entry, *args],
        cwd=ROOT,
        stdin=subprocess.DEVNULL if terminal is None else terminal.command_side,
        stdout=subprocess.PIPE if terminal is None else terminal.command_side,
        stderr=subprocess.PIPE if terminal is None else terminal.command_side,
        text=True,
        start_new_session=True,
        env={**os.environ, "TERM": "xterm-256color"},
    )
    if terminal is not None:
        os.close(terminal.command_side)
    return process


def ctrl_c_when(
    process: subprocess.Popen[str], moment: Callable[[], bool], what: str, stop: int = signal.SIGINT
) -> None:
    """Send Ctrl-C (or `stop`) to the command's process group once `moment()` holds (the command still
    running)."""

    def reached() -> bool:
        assert process.poll() is None, f"the command ended before {what}: {process.communicate()}"
        return moment()

    wait_until(reached, what)
    os.killpg(process.pid, stop)


def assert_interrupted(
    process: subprocess.Popen[str],
    message: str = NOTHING_WRITTEN,
    *,
    terminal: Terminal | None = None,
    code: int = 130,
) -> None:
    _out, err = process.communicate(timeout=120)
    if terminal is not None:
        err = terminal.read()
    assert process.returncode == code, err
    assert "Traceback" not in err
    assert message in err


def mapped(process: subprocess.Popen[str], library: str) -> Callable[[], bool]:
    """Whether the process has loaded `library` (a shared object of a module the startup imports)."""
    return lambda: library in (PROC / str(process.pid) / "maps").read_text()


def state(path: Path) -> tuple[str, dict[str, int]]:
    """The database's integrity and its row counts."""
    conn = sqlite3.connect(path)
    try:
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        tables = ("accounts", "usage_events", "score_runs", "scores", "outreach")
        return integrity, {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in tables
        }
    finally:
        conn.close()


def book_copy(book: Path, folder: Path) -> Path:
    folder.mkdir()
    return Path(shutil.copy(book, folder / "book.db"))


@pytest.fixture(scope="module")
def demo_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("book") / "demo.db"
    build_demo(path, load_settings(), clock=fixed_clock(datetime.fromisoformat(PINNED_NOW)))
    return path


@pytest.fixture(scope="module")
def big_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated book big enough that scoring it takes seconds."""
    path = tmp_path_factory.mktemp("big") / "big.db"
    now = datetime.fromisoformat(PINNED_NOW)
    build_demo(path, load_settings(), clock=fixed_clock(now), accounts=3000, score=False)
    return path


# Libraries the startup maps, in order: `_datetime` once the entry point has taken over Ctrl-C and is
# importing the commands (Typer), `libsqlite3` once the commands import their common part.
STARTUP_MOMENTS = ["_datetime", "libsqlite3"]


@pytest.mark.parametrize("library", STARTUP_MOMENTS)
@pytest.mark.parametrize("entry", ENTRY_POINTS.values(), ids=ENTRY_POINTS.keys())
def test_ctrl_c_while_the_program_starts(
    demo_book: Path, tmp_path: Path, entry: list[str], library: str
) -> None:
    book = book_copy(demo_book, tmp_path / "books")
    before = state(book)
    process = start(entry, "score", "--db", str(book))
    ctrl_c_when(process, mapped(process, library), f"{library} was loaded")
    assert_interrupted(process)
    assert state(book) == before


def read_position(process: subprocess.Popen[str], path: Path) -> int:
    """How far the process has read the file at `path` (0 while it has not opened it)."""
    fds = PROC / str(process.pid) / "fd"
    for fd in fds.iterdir():
        try:
            if os.readlink(fd) == str(path):
                info = (PROC / str(process.pid) / "fdinfo" / fd.name).read_text()
                return int(info.split("pos:", 1)[1].split()[0])
        except OSError:  # closed meanwhile
            continue
    return 0


def test_ctrl_c_in_the_middle_of_a_big_import(demo_book: Path, tmp_path: Path) -> None:
    header, *rows = (resources.seeds_dir() / "usage_events.csv").read_text(encoding="utf-8").splitlines()
    source = header.split(",").index("source_id")
    big = tmp_path / "usage.csv"  # four times the demo's usage, each copy new (another source id)
    with big.open("w", encoding="utf-8") as handle:
        handle.write(header + "\n")
        for n in range(4):
            for row in rows:
                cells = row.split(",")
                cells[source] = f"copy-{n}"
                handle.write(",".join(cells) + "\n")
    book = book_copy(demo_book, tmp_path / "books")
    before = state(book)
    process = start(ENTRY_POINTS["python -m cockpit"], "import", "usage", str(big), "--db", str(book))
    quarter = big.stat().st_size // 4
    ctrl_c_when(process, lambda: read_position(process, big) > quarter, "a quarter of the file was read")
    assert_interrupted(process)
    assert state(book) == before
    assert sorted(book.parent.iterdir()) == [book]  # nothing staged or half written is left beside it


def write_lock_held(path: Path) -> Callable[[], bool]:
    """Whether another connection holds the database's write lock (a transaction under way)."""

    def held() -> bool:
        conn = sqlite3.connect(path, timeout=0)
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            assert "locked" in str(error)
            return True
        finally:
            conn.close()
        return False

    return held


def test_ctrl_c_in_the_middle_of_a_scoring_run(big_book: Path, tmp_path: Path) -> None:
    book = book_copy(big_book, tmp_path / "books")
    before = state(book)
    process = start(ENTRY_POINTS["python -m cockpit"], "score", "--db", str(book))
    ctrl_c_when(process, write_lock_held(book), "the scoring run's transaction began")
    assert_interrupted(process)
    assert state(book) == before


def test_sigterm_in_the_middle_of_a_scoring_run_stops_it_as_ctrl_c_does_then_ends_by_the_signal(
    big_book: Path, tmp_path: Path
) -> None:
    """systemd stopping a service, or `kill`: the same clean stop and line, naming the signal; the program
    then ends by SIGTERM (a shell says 143, systemd a clean stop)."""
    book = book_copy(big_book, tmp_path / "books")
    before = state(book)
    process = start(ENTRY_POINTS["python -m cockpit"], "score", "--db", str(book))
    ctrl_c_when(process, write_lock_held(book), "the scoring run's transaction began", signal.SIGTERM)
    assert_interrupted(process, "interrupted (SIGTERM); nothing was written.", code=-signal.SIGTERM)
    assert state(book) == before


def test_ctrl_c_while_the_demo_generates_leaves_nothing(tmp_path: Path) -> None:
    """The generator process ignores the Ctrl-C that the terminal sends it too (no traceback of its own);
    the demo stops it, and the book it was building is removed."""
    target = tmp_path / "big.db"
    terminal = Terminal()
    try:
        process = start(
            ENTRY_POINTS["python -m cockpit"],
            *("demo", "--accounts", "6000", "--no-open", "--db", str(target)),
            terminal=terminal,
        )
        helpers: dict[int, str] = {}

        def generating() -> bool:
            helpers.update(children(process.pid))
            bar = r"\r .*?[1-9][\d,]*(?:/[\d,]+)? accounts"  # its progress
            return re.search(bar, terminal.read()) is not None

        ctrl_c_when(process, generating, "the generated accounts going in")
        assert_interrupted(process, terminal=terminal)
    finally:
        terminal.close()
    assert any("spawn_main" in command for command in helpers.values())
    assert sorted(tmp_path.iterdir()) == []
    wait_until(lambda: not any(map(running, helpers)), "the end of the demo's helper processes", seconds=30)


def test_ctrl_c_while_the_cockpit_opens(demo_book: Path, tmp_path: Path) -> None:
    """The TUI's start (Textual loading) on a terminal: the same exit and message."""
    book = book_copy(demo_book, tmp_path / "books")
    before = state(book)
    terminal = Terminal()
    try:
        process = start(ENTRY_POINTS["python -m cockpit"], "--db", str(book), terminal=terminal)
        ctrl_c_when(process, mapped(process, "_asyncio"), "Textual was loading")
        assert_interrupted(process, terminal=terminal)
    finally:
        terminal.close()
    assert state(book) == before
