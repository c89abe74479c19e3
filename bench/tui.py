"""TUI latency on a large book: first paint from process start, and keystroke to repainted list for sorts and
search, against a Textual DataTable filled with the same rows, in the same run.

    python bench/tui.py [--accounts 100000] [--db bench/out/book-100000.db] [--repeats 2] [--today [--paints 3]]

Targets (issue 6): first paint within 1.5 s of process start; keystroke to repaint under 100 ms at the 95th
percentile. A keystroke is timed from the key press to the first paint that shows the new order. Each round
sorts by every column, ascending then descending, and after each sort presses End, pages up from the end and
jumps to the middle (a scrollbar drag), then waits until the book is marked (`BookTable.marks_after`, the walk)
and jumps to a third of it; then it types two searches letter by letter: a common word and the
name of the account in the middle of the book (a search that matches few).

The Today screen (`--today`: only its figures): first paint from process start, the moment its table first
renders a line of rows, in turn with the floor (a bare Textual app painting a DataTable of 40 rows), min and
median of `--paints` runs each; and when the app is next idle (Textual's pause, which waits while the CPU is
busy: on Today, the whole day read after the first paint). Then Down to repaint, once the whole day shows.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

from open_book import SIZE, DataTableBook, ensure_book, time_process, time_process_marks
from textual import events
from textual.strip import Strip
from textual.widgets import DataTable, Static

from cockpit.clock import system_clock
from cockpit.config import load_settings
from cockpit.services.scoring import run_scoring
from cockpit.store import open_store
from cockpit.tui.app import CockpitApp
from cockpit.tui.widgets.book_table import _SORT_BINDINGS, BookTable

HERE = Path(__file__).resolve().parent
SEARCH = "amber"


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20, method="inclusive")[-1] if len(samples) >= 2 else samples[0]


class PaintClock:
    """When the table last painted its first row, and from which query generation: a keystroke's latency
    runs from the key event to the first paint of the new query's rows (the count may come later)."""

    def __init__(self, table: BookTable) -> None:
        self.table = table
        self.paints: list[tuple[float, int, float]] = []
        self.tops: list[tuple[float, int, float]] = []
        self.cpu: dict[str, list[float]] = {}
        """The process's CPU time (all threads) from each key to its repaint, by the kind of key."""
        """When the first row painted loaded, and which row it was (for moves within one order)."""
        render_line = table.render_line

        def timed_render_line(y: int) -> Strip:
            strip = render_line(y)
            if y == 1 and table.row_at(round(table.scroll_y)) is not None:
                self.paints.append((time.perf_counter(), table._generation, time.process_time()))
                self.tops.append((time.perf_counter(), round(table.scroll_y), time.process_time()))
            return strip

        table.render_line = timed_render_line  # type: ignore[method-assign]

    async def keystroke(self, app: CockpitApp, key: str, kind: str = "") -> float:
        """Send `key` as a terminal would (no waiting for the app to go idle) and time it to the repaint."""
        generation = self.table._generation
        self.paints.clear()
        started, cpu = time.perf_counter(), time.process_time()
        app.post_message(events.Key(key, key if len(key) == 1 else None))
        while not any(painted_generation > generation for _, painted_generation, _ in self.paints):
            await asyncio.sleep(0.0005)
        painted, _, painted_cpu = next(paint for paint in self.paints if paint[1] > generation)
        self.cpu.setdefault(kind, []).append(painted_cpu - cpu)
        while self.table.row_count is None:  # let the count land before the next key
            await asyncio.sleep(0.001)
        return painted - started

    async def move(self, app: CockpitApp, key: str) -> float:
        """Send a moving key (`end`, `pagedown`, `home`) and time it to the first paint of loaded rows at the new
        scroll position."""
        top = round(self.table.scroll_y)
        self.tops.clear()
        started, cpu = time.perf_counter(), time.process_time()
        app.post_message(events.Key(key, None))
        while not any(at_top != top for _, at_top, _ in self.tops):
            await asyncio.sleep(0.0005)
        at, _, at_cpu = next(paint for paint in self.tops if paint[1] != top)
        self.cpu.setdefault(key, []).append(at_cpu - cpu)
        return at - started


@dataclass
class Latencies:
    sorts: dict[str, list[float]] = field(default_factory=lambda: {"account": [], "score": []})
    """Keystroke to repaint, for the sorts by an account column and by a score (or the lifetime value)."""
    ends: dict[str, list[float]] = field(default_factory=lambda: {"account": [], "score": []})
    """`End` after each sort."""
    pageups: list[float] = field(default_factory=list)
    jumps: list[float] = field(default_factory=list)
    marked_jumps: list[float] = field(default_factory=list)
    """A jump to a third of the book once the table has marked it (after a pause, as a user looks)."""
    searches: list[float] = field(default_factory=list)
    moves: dict[str, list[float]] = field(default_factory=dict)
    cpu: dict[str, list[float]] = field(default_factory=dict)
    """The process's CPU from key to repaint, by kind: sort, search, end, pageup, jump (to the repaint)."""
    """End, pages up and the jump after each sort, by sort key: which sort is slow to move in."""


ACCOUNT_COLUMNS = {"name", "owner", "plan", "mrr", "renewal_date"}


def middle_name(path: Path) -> str:
    """The first word of the name of the account in the middle of the book (at most 8 letters), lower case."""
    conn = sqlite3.connect(path)
    (name,) = conn.execute(
        "SELECT name FROM accounts ORDER BY name COLLATE NOCASE LIMIT 1 OFFSET (SELECT count(*) / 2 FROM accounts)"
    ).fetchone()
    conn.close()
    return str(name).lower().split()[0][:8]


async def jump_once_marked(app: CockpitApp, table: BookTable) -> float:
    """Pause until the table has asked for its marks (`BookTable.marks_after`) and the walk is done, then
    jump to a third of the book: keystroke to the rows shown."""
    await asyncio.sleep(table.marks_after * 1.5)
    while any(worker.group == "book-marks" and not worker.is_finished for worker in app.workers):
        await asyncio.sleep(0.005)
    started = time.perf_counter()
    table.scroll_to(y=table.virtual_size.height // 3, animate=False)
    while table.row_at(round(table.scroll_y)) is None:
        await asyncio.sleep(0.0005)
    return time.perf_counter() - started


async def cockpit_latencies(path: Path, rounds: int) -> Latencies:
    store = open_store(path)
    app = CockpitApp(store, load_settings(), clock=system_clock())
    found = Latencies()
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(BookTable)
        while table.row_count is None:
            await pilot.pause(0.001)
        clock = PaintClock(table)
        for _ in range(rounds):
            for key, sort, *_rest in _SORT_BINDINGS:
                kind = "account" if sort in ACCOUNT_COLUMNS else "score"
                for _direction in ("ascending", "descending"):
                    found.sorts[kind].append(await clock.keystroke(app, key, "sort"))
                    # After each sort: End, pages up from the end (deep), then a jump to the middle.
                    moves = found.moves.setdefault(sort, [])
                    found.ends[kind].append(await clock.move(app, "end"))
                    moves.append(found.ends[kind][-1])
                    for _ in range(3):
                        found.pageups.append(await clock.move(app, "pageup"))
                        moves.append(found.pageups[-1])
                    started, cpu = time.perf_counter(), time.process_time()
                    table.scroll_to(y=table.virtual_size.height // 2, animate=False)
                    while table.row_at(round(table.scroll_y)) is None:
                        await asyncio.sleep(0.0005)
                    found.jumps.append(time.perf_counter() - started)
                    clock.cpu.setdefault("jump", []).append(time.process_time() - cpu)
                    moves.append(found.jumps[-1])
                    found.marked_jumps.append(await jump_once_marked(app, table))
        await clock.keystroke(app, "n")
        await pilot.press("slash")
        for _ in range(rounds):
            for word in (SEARCH, middle_name(path)):
                for letter in word:
                    found.searches.append(await clock.keystroke(app, letter, "search"))
                for _letter in word:
                    await clock.keystroke(app, "backspace")
    store.close()
    found.cpu = clock.cpu
    return found


def line(label: str, samples: list[float], target: str = "(target p95 < 100)") -> str:
    return (
        f"  {label:<34} p50 {statistics.median(samples) * 1000:6.0f} ms  p95 {p95(samples) * 1000:6.0f} ms  "
        f"max {max(samples) * 1000:6.0f} ms  n={len(samples):<4} {target}"
    )


async def datatable_sort_latencies(path: Path, repeats: int) -> list[float]:
    app = DataTableBook(path)
    samples: list[float] = []
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(DataTable)
        while table.row_count == 0:
            await pilot.pause(0.001)
        keys = list(table.columns)
        for index in range(min(repeats, 5)):  # each takes seconds on a big table
            started = time.perf_counter()
            table.sort(keys[index % len(keys)], reverse=bool(index % 2))
            await pilot.pause()
            samples.append(time.perf_counter() - started)
    return samples


def ensure_scored(path: Path) -> None:
    """Score the book once (kept in the file), so that score sorts order real scores."""
    store = open_store(path)
    try:
        if store.db.execute("SELECT 1 FROM score_runs WHERE finished_at IS NOT NULL").fetchone() is None:
            print("scoring the book once (kept for later runs)…")
            clock = system_clock()
            run_scoring(store, load_settings(), clock.today(), clock=clock)
    finally:
        store.close()


_PAINTED = """
import asyncio, sys, time
from pathlib import Path
from textual.widgets import DataTable

# When a DataTable (the Today screen's, the floor's) first rendered a line of rows below its header: its first
# paint with rows (every DataTable's, from before the app starts).
PAINTED: list[float] = []
_render_line = DataTable.render_line

def _timed_render_line(self: DataTable, y: int):
    strip = _render_line(self, y)
    if y >= 1 and self.row_count and not PAINTED:
        PAINTED.append(time.time())
    return strip

DataTable.render_line = _timed_render_line

async def report(pilot) -> None:
    \"\"\"Print the first paint with rows, then the moment the app is next idle (Textual's pause: no CPU
    used for a moment; on the Today screen the whole day is read after the first paint).\"\"\"
    while not PAINTED:
        await pilot.pause(0.001)
    await pilot.pause()
    print(PAINTED[0], time.time())
"""

_TODAY_FIRST_PAINT = (
    _PAINTED
    + """
from cockpit.clock import system_clock
from cockpit.config import load_settings
from cockpit.store import open_store
from cockpit.tui.app import CockpitApp
from cockpit.tui.screens.today import TodayScreen

async def main() -> None:
    store = open_store(Path(sys.argv[1]))
    app = CockpitApp(store, load_settings(), clock=system_clock())
    async with app.run_test(size=(120, 40)) as pilot:
        await app.push_screen(TodayScreen(store, app.settings, clock=app.clock))
        await report(pilot)

asyncio.run(main())
"""
)

_FLOOR_FIRST_PAINT = (
    _PAINTED
    + """
from textual.app import App

class Floor(App[None]):
    \"\"\"The floor: Python and Textual start, one DataTable of 40 rows given at once, no database.\"\"\"

    def compose(self):
        yield DataTable()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("When", "What", "Account", "Item")
        table.add_rows([("today", "Follow-up", f"Account {n}", "Follow up: call") for n in range(40)])

async def main() -> None:
    app = Floor()
    async with app.run_test(size=(120, 40)) as pilot:
        await report(pilot)

asyncio.run(main())
"""
)


def first_paints(path: Path, runs: int) -> dict[str, list[tuple[float, float]]]:
    """From starting `python` to the first paint with rows, and to the app next idle: Today on the book (the
    book opening beside it) and the floor (a bare Textual DataTable), run in turn `runs` times each."""
    found: dict[str, list[tuple[float, float]]] = {"today": [], "floor": []}
    for _ in range(runs):
        for name, script in (("today", _TODAY_FIRST_PAINT), ("floor", _FLOOR_FIRST_PAINT)):
            painted, idle = time_process_marks(path, script)
            found[name].append((painted, idle))
    return found


def paint_line(label: str, samples: list[tuple[float, float]], target: str = "") -> str:
    painted = [sample[0] * 1000 for sample in samples]
    idle = [sample[1] * 1000 for sample in samples]
    return (
        f"  {label:<34} min {min(painted):6.0f} ms  median {statistics.median(painted):6.0f} ms  "
        f"(then idle: min {min(idle):6.0f}, median {statistics.median(idle):6.0f})  n={len(samples)} {target}"
    )


async def today_latencies(path: Path, moves: int) -> list[float]:
    """Keystroke (Down) to the Today screen repainted with the next item's detail."""
    from cockpit.tui.screens.today import TodayScreen

    store = open_store(path)
    app = CockpitApp(store, load_settings(), clock=system_clock())
    samples: list[float] = []
    async with app.run_test(size=SIZE) as pilot:
        await app.push_screen(TodayScreen(store, app.settings, clock=app.clock))
        table = app.screen.query_one(DataTable)
        status = app.screen.query_one("#today-status", Static)
        # The whole day, score changes too: its first items show first, the rest is read after.
        while not table.row_count or "reading" in str(status.render()):
            await pilot.pause(0.001)
        while not all(worker.is_finished for worker in app.screen.workers):
            await pilot.pause(0.001)
        await pilot.pause()
        for _ in range(min(moves, table.row_count - 1)):
            row = table.cursor_row
            started = time.perf_counter()
            app.post_message(events.Key("down", None))
            while table.cursor_row == row:
                await asyncio.sleep(0.0005)
            await pilot.pause()
            samples.append(time.perf_counter() - started)
    store.close()
    return samples


def today(path: Path, runs: int) -> None:
    """Today's first paint from process start against the floor, in turn, and Down to repaint."""
    paints = first_paints(path, runs)
    print(f"Today on {path.name}, load {os.getloadavg()}")
    print(paint_line("Today: first paint from start", paints["today"], "(target <= 1500)"))
    print(paint_line("floor: a bare Textual DataTable", paints["floor"]))
    print(line("Today: Down to repaint", asyncio.run(today_latencies(path, 100))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--db", type=Path)
    parser.add_argument("--repeats", type=int, default=2, help="rounds of every sort and search")
    parser.add_argument("--no-datatable", action="store_true", help="skip the DataTable reference")
    parser.add_argument(
        "--book-only", action="store_true", help="only the book's keys (no first paint, Today)"
    )
    parser.add_argument("--today", action="store_true", help="only the Today screen's figures")
    parser.add_argument("--paints", type=int, default=3, help="runs of each first paint, in turn")
    args = parser.parse_args()
    path = ensure_book(args.db or HERE / "out" / f"book-{args.accounts}.db", args.accounts)
    ensure_scored(path)
    if args.today:
        today(path, args.paints)
        return
    if not args.book_only:
        first_paint = min(time_process(path) for _ in range(3))
    load_before = os.getloadavg()
    found = asyncio.run(cockpit_latencies(path, args.repeats))
    print(f"book of {path.name}, load before {load_before}, after {os.getloadavg()}")
    if not args.book_only:
        print(
            f"  first paint from process start (best of 3)   {first_paint * 1000:8.0f} ms   (target <= 1500)"
        )
    print(line("sort by an account column", found.sorts["account"]))
    print(line("sort by a score or the CLV", found.sorts["score"]))
    print(line("End after an account sort", found.ends["account"]))
    print(line("End after a score sort", found.ends["score"]))
    print(line("PageUp from the end", found.pageups))
    print(line("jump to the middle", found.jumps))
    print(line("jump to a third, after a pause", found.marked_jumps))
    print(line("search, letter by letter", found.searches))
    for kind in ("sort", "search", "end", "pageup", "jump"):
        samples = found.cpu[kind]
        print(
            f"  CPU, {kind:<8} p50 {statistics.median(samples) * 1000:5.1f} ms  p95 {p95(samples) * 1000:5.1f} ms"
        )
    slowest = sorted(found.moves.items(), key=lambda item: -max(item[1]))[:3]
    print(
        "  slowest sorts to move in (End, PageUp, jump): "
        + ", ".join(f"{sort} max {max(samples) * 1000:.0f} ms" for sort, samples in slowest)
    )
    if not args.book_only:
        today(path, args.paints)
    if not args.no_datatable:
        naive = asyncio.run(datatable_sort_latencies(path, 5))
        print(
            f"  DataTable sort to repaint  p50 {statistics.median(naive) * 1000:6.0f} ms  (the same rows, all in the widget)"
        )


if __name__ == "__main__":
    main()
