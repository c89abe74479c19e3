"""Writers wait for another cockpit process's write (an import applying its rows) instead of failing: the
commands say so once on stderr and carry on when it is done, up to `database.write_wait_seconds`, then
exit 3 with a clear message; the TUI saves a logged call once the import is done, saying meanwhile that it
waits. The other writer is a real process holding the real file's write lock (`tests/lock_holder.py`)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from textual.message import Message
from textual.notifications import Notify

from cockpit.config import load_settings
from cockpit.services.importing import ImportOptions, run_import
from cockpit.store import Store, open_store
from cockpit.tui.app import CockpitApp
from cockpit.tui.screens.log_interaction import LogInteractionScreen
from tests.clocks import at
from tests.tui.books import BOOK_DAY, insert_accounts, make_accounts, settle
from tests.tui.test_book_refresh import wait_for
from tests.tui.test_book_screen import SIZE

WAITING = "waiting for another cockpit process (import) to finish writing…"


@contextmanager
def import_applying(db: Path, *, an_import: bool = True) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the write lock as an import's apply does (or, not `an_import`, as any other
    writer does); let go by `let_go`, or at the end."""
    with subprocess.Popen(
        [sys.executable, "-m", "tests.lock_holder", str(db), *([] if an_import else ["--not-an-import"])],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "held\n"
        yield holder


def let_go(holder: subprocess.Popen[str]) -> None:
    assert holder.stdin is not None
    holder.stdin.write("go\n")
    holder.stdin.flush()


@pytest.fixture
def book(tmp_path: Path) -> Path:
    db = tmp_path / "book.db"
    store = open_store(db, create=True)
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("id,name,mrr\nacc-1,Acme,1200\nacc-2,Globex,450\n", encoding="utf-8")
    assert run_import(
        store, load_settings(), [str(accounts)], ImportOptions(kind="accounts"), clock=at(BOOK_DAY)
    ).committed
    store.close()
    return db


def config(tmp_path: Path, *, wait_seconds: int) -> Path:
    """A user config whose short busy timeout would fail a write at once, were it not for the wait."""
    path = tmp_path / "config.toml"
    path.write_text(
        f"[database]\nbusy_timeout_ms = 100\nwrite_wait_seconds = {wait_seconds}\n", encoding="utf-8"
    )
    return path


def start_score(db: Path, settings: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "cockpit", "score", "--db", str(db), "--config", str(settings)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def score_runs(db: Path) -> int:
    store = Store(db)
    try:
        return int(store.db.execute("SELECT count(*) FROM score_runs").fetchone()[0])
    finally:
        store.close()


@pytest.mark.parametrize(
    ("an_import", "waiting"),
    [(True, WAITING), (False, "waiting for another cockpit process to finish writing…")],
    ids=["import", "another writer"],
)
def test_score_waits_for_another_writer_to_finish_then_runs(
    book: Path, tmp_path: Path, an_import: bool, waiting: str
) -> None:
    settings = config(tmp_path, wait_seconds=120)
    with import_applying(book, an_import=an_import) as holder:
        score = start_score(book, settings)
        assert score.stderr is not None
        said = score.stderr.readline()  # blocks until the command says it waits, or ends
        assert said.strip() == waiting, said + score.stderr.read()
        assert score_runs(book) == 0
        let_go(holder)
        _out, err = score.communicate(timeout=120)
    assert score.returncode == 0, err
    assert "waiting" not in err  # said once
    assert score_runs(book) == 1


def test_a_second_import_stages_meanwhile_and_applies_when_the_first_is_done(
    book: Path, tmp_path: Path
) -> None:
    source = tmp_path / "more.csv"
    source.write_text("id,name\nacc-3,Initech\n", encoding="utf-8")
    settings = config(tmp_path, wait_seconds=120)
    with import_applying(book) as holder:
        second = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "cockpit",
                "import",
                "accounts",
                str(source),
                "--db",
                str(book),
                "--config",
                str(settings),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert second.stderr is not None
        said = second.stderr.readline()  # it has read and staged its file, and waits to apply it
        assert said.strip() == WAITING, said + second.stderr.read()
        let_go(holder)
        _out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    assert "1 rows: 1 inserted" in err
    store = Store(book)
    assert store.db.execute("SELECT name FROM accounts WHERE id = 'acc-3'").fetchall() == [("Initech",)]
    store.close()


def test_a_write_that_waits_past_the_limit_fails_clearly(book: Path, tmp_path: Path) -> None:
    settings = config(tmp_path, wait_seconds=1)
    with import_applying(book):
        score = start_score(book, settings)
        _out, err = score.communicate(timeout=120)
    assert score.returncode == 3
    assert err.count(WAITING) == 1
    assert "another cockpit process (import) kept writing to the database; waited 1 s" in err
    assert "database.write_wait_seconds" in err
    assert "Traceback" not in err
    assert score_runs(book) == 0


async def test_the_tui_saves_a_logged_call_once_the_import_is_done(tmp_path: Path) -> None:
    store = Store(tmp_path / "book.db", busy_timeout_ms=100)
    store.migrate()
    accounts = make_accounts(3)
    insert_accounts(store, accounts)
    settings = load_settings()
    messages: list[Message] = []
    app = CockpitApp(store, settings, clock=at(BOOK_DAY))

    def notices() -> list[tuple[str | None, str, str]]:
        return [
            (m.notification.title, m.notification.message, m.notification.severity)
            for m in messages
            if isinstance(m, Notify)
        ]

    try:
        async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
            await settle(pilot)
            with import_applying(store.path) as holder:
                await pilot.press("l", *"Budget call", "enter")
                await wait_for(lambda: notices() != [], pilot, seconds=60)
                assert notices() == [
                    (
                        "Saving as soon as the database is free",
                        "Waiting for the import to finish…",
                        "information",
                    )
                ]
                assert isinstance(app.screen, LogInteractionScreen)
                let_go(holder)
                await wait_for(lambda: not isinstance(app.screen, LogInteractionScreen), pilot, seconds=60)
                await wait_for(lambda: len(notices()) > 1, pilot, seconds=60)
            assert notices()[1:] == [
                ("Interaction saved", "Logged; it waits in the CRM outbox.", "information")
            ]  # saved once the import let go, and no error on the way
    finally:
        store.close()
    check = Store(tmp_path / "book.db")
    assert check.db.execute("SELECT account_id, summary FROM interactions").fetchall() == [
        (accounts[0].id, "Budget call")
    ]
    check.close()
