"""Time to open the book on a large database: cockpit's paged BookTable against a Textual DataTable filled
with the same rows (the obvious approach), measured in the same run.

    python bench/open_book.py [--accounts 100000] [--db bench/out/book-100000.db]

The database is generated once with the demo generator and reused. Both apps run headless at 120x40; the
clock runs from creating the app to the first screen painted with rows. A third figure is the whole process:
from starting `python` to cockpit's first painted rows.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from textual.app import App, ComposeResult
from textual.widgets import DataTable

from cockpit.clock import system_clock
from cockpit.config import load_settings
from cockpit.demo import generate_into_store
from cockpit.store import Store, open_store
from cockpit.store.db import build_database
from cockpit.tui.app import CockpitApp
from cockpit.tui.widgets.book_table import BookTable

SIZE = (120, 40)
HERE = Path(__file__).resolve().parent


def ensure_book(path: Path, accounts: int) -> Path:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        print(f"generating {accounts:,} accounts into {path} ...", file=sys.stderr)
        started = time.perf_counter()
        build_database(
            path, lambda store: generate_into_store(store, accounts=accounts, anchor=date(2026, 11, 22))
        )
        print(f"  generated in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return path


async def time_cockpit(path: Path) -> float:
    store = open_store(path)
    started = time.perf_counter()
    app = CockpitApp(store, load_settings(), clock=system_clock())
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(BookTable)
        while table.row_at(0) is None:
            await pilot.pause(0.001)
        await pilot.pause()
        elapsed = time.perf_counter() - started
    store.close()
    return elapsed


class DataTableBook(App[None]):
    """The naive book: every account read at mount and added to a DataTable."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    def compose(self) -> ComposeResult:
        yield DataTable()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Name", "Owner", "Plan", "MRR", "Renewal")
        conn = sqlite3.connect(self.path)
        rows = conn.execute(
            "SELECT name, coalesce(owner, ''), coalesce(plan, ''), mrr, coalesce(renewal_date, '') "
            "FROM accounts ORDER BY name"
        ).fetchall()
        conn.close()
        table.add_rows(rows)


async def time_datatable(path: Path) -> float:
    started = time.perf_counter()
    app = DataTableBook(path)
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(DataTable)
        while table.row_count == 0:
            await pilot.pause(0.001)
        await pilot.pause()
        elapsed = time.perf_counter() - started
    return elapsed


_FIRST_PAINT = """
import asyncio, sys, time
from pathlib import Path
from cockpit.clock import system_clock
from cockpit.config import load_settings
from cockpit.store import open_store
from cockpit.tui.app import CockpitApp
from cockpit.tui.widgets.book_table import BookTable

async def main() -> None:
    app = CockpitApp(open_store(Path(sys.argv[1])), load_settings(), clock=system_clock())
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.screen.query_one(BookTable)
        while table.row_at(0) is None:
            await pilot.pause(0.001)
        await pilot.pause()
        print(time.time())

asyncio.run(main())
"""


def time_process(path: Path, script: str = _FIRST_PAINT) -> float:
    """From starting `python` on `script` (which prints the moment of its first paint) to that moment."""
    return time_process_marks(path, script)[0]


def time_process_marks(path: Path, script: str) -> list[float]:
    """From starting `python` on `script` to each moment it prints (on its last line, in seconds since the
    epoch)."""
    started = time.time()
    out = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, check=True
    )
    return [float(moment) - started for moment in out.stdout.strip().splitlines()[-1].split()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--db", type=Path)
    args = parser.parse_args()
    path = ensure_book(args.db or HERE / "out" / f"book-{args.accounts}.db", args.accounts)
    accounts = Store(path).db.execute("SELECT count(*) FROM accounts").fetchone()[0]
    ours = min(asyncio.run(time_cockpit(path)) for _ in range(3))
    process = min(time_process(path) for _ in range(3))
    naive = asyncio.run(time_datatable(path))
    print(f"book of {accounts:,} accounts, first painted rows (best of 3 for cockpit):")
    print(f"  cockpit BookTable (paged from SQL)   {ours * 1000:9.0f} ms")
    print(f"  cockpit, from process start          {process * 1000:9.0f} ms")
    print(f"  Textual DataTable with every row     {naive * 1000:9.0f} ms")
    print(f"  ratio DataTable / cockpit            {naive / ours:9.1f} x")


if __name__ == "__main__":
    main()
