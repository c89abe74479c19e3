"""Data written by other processes (an import, a sync) shows in the open book, and neither side fails."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from pathlib import Path

from textual.notifications import Notify

from cockpit.config import load_settings
from cockpit.services.importing import ImportOptions, run_import
from cockpit.store import Store
from cockpit.tui.app import CockpitApp
from tests.clocks import at

from .books import BOOK_DAY, insert_accounts, make_accounts, settle
from .conftest import MakeApp
from .test_book_screen import SIZE, book_table, status_text

NEW_ACCOUNTS = "id,name,domain,owner,mrr\n" + "".join(
    f"new-{n:04d},Aaa New {n:04d},new{n}.example,Zed,{n}\n" for n in range(500)
)


async def wait_for(predicate: object, pilot: object, *, seconds: float = 5.0) -> None:
    """Let the app run until `predicate()` holds; fail after `seconds`."""
    assert callable(predicate)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not predicate():
        assert loop.time() < deadline, "timed out"
        await pilot.pause(0.05)  # type: ignore[attr-defined]


def import_in_another_connection(path: Path, csv_file: Path) -> None:
    """What `cockpit import` does from another process: its own store, its own connection."""
    other = Store(path)
    try:
        result = run_import(
            other, load_settings(), [str(csv_file)], ImportOptions(kind="accounts"), clock=at(BOOK_DAY)
        )
        assert result.committed, result.errors
    finally:
        other.close()


async def test_ctrl_r_reloads_and_keeps_the_cursor(make_app: MakeApp, store: Store, tmp_path: Path) -> None:
    app, _accounts = make_app(50, refresh_seconds=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = book_table(app)
        await pilot.press("down", "down", "down")
        csv_file = tmp_path / "new.csv"
        csv_file.write_text(NEW_ACCOUNTS, encoding="utf-8")
        import_in_another_connection(store.path, csv_file)
        assert table.row_count == 50  # nothing changes on screen by itself with a long interval
        await pilot.press("ctrl+r")
        await wait_for(lambda: table.row_count == 550, pilot)
        assert table.cursor_row == 3
        row = table.row_at(0)
        assert row is not None and row.name == "Aaa New 0000"
        assert status_text(app).startswith("All accounts · 550 accounts")


async def test_an_import_while_the_book_is_open_shows_by_itself(
    make_app: MakeApp, store: Store, tmp_path: Path
) -> None:
    app, _accounts = make_app(50, refresh_seconds=0.1)
    errors: list[Notify] = []
    async with app.run_test(
        size=SIZE, message_hook=lambda m: errors.append(m) if isinstance(m, Notify) else None
    ) as pilot:
        await settle(pilot)
        table = book_table(app)
        csv_file = tmp_path / "new.csv"
        csv_file.write_text(NEW_ACCOUNTS, encoding="utf-8")
        # The import runs in another thread with its own connection while the app keeps reading pages.
        worker = threading.Thread(target=import_in_another_connection, args=(store.path, csv_file))
        worker.start()
        for _ in range(10):
            await pilot.press("end", "home")
        worker.join()
        await wait_for(lambda: table.row_count == 550, pilot)
        await wait_for(lambda: table.row_at(0) is not None, pilot)
    assert [n for n in errors if n.notification.severity == "error"] == []


async def test_a_book_opened_through_a_symbolic_link_sees_another_process_commit(
    store: Store, tmp_path: Path
) -> None:
    """The watch for changes looks at the real file's WAL, whatever name opened the database."""
    insert_accounts(store, make_accounts(50))
    link = tmp_path / "link.db"
    link.symlink_to(store.path)
    settings = load_settings()
    settings = settings.model_copy(update={"ui": settings.ui.model_copy(update={"refresh_seconds": 0.1})})
    linked = Store(link)
    app = CockpitApp(linked, settings, clock=at(BOOK_DAY), db_label="link.db")
    try:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            table = book_table(app)
            csv_file = tmp_path / "new.csv"
            csv_file.write_text(NEW_ACCOUNTS, encoding="utf-8")
            imported = await asyncio.to_thread(
                subprocess.run,
                [
                    sys.executable,
                    "-m",
                    "cockpit",
                    "import",
                    "accounts",
                    str(csv_file),
                    "--db",
                    str(store.path),
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            assert imported.returncode == 0, imported.stderr
            await wait_for(lambda: table.row_count == 550, pilot)
    finally:
        linked.close()
