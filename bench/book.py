"""The view of the book as a whole on a large book: computing it against the usage GROUP BY floor, and the
book screen's first paint from the view kept.

    python bench/book.py [--db bench/out/book-100000.db] [--accounts 100000] [--as-of YYYY-MM-DD]

The book is copied to a temporary file first (the view is kept in the database it reads). In this order and
in this one run: the floor (the usage GROUP BY every scoring run makes), the view computed afresh and kept
(`services/book_view.book_view`, the first time for its day), the kept view read back, and the screen's first
paint: the app open headless at 120x40 on the book, `b` pressed, the time until the screen shows the kept
view. The as-of day is the latest score run's (today without one). Targets: the view within 2 times the
floor; the first paint within 1.5 s. Each line also gives the CPU seconds of this process, which another
process's load on the machine changes less than the wall clock.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from datetime import time as dt_time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # measure the checkout this script is in, not an installed cockpit

from churn import timed  # noqa: E402
from open_book import ensure_book  # noqa: E402

from cockpit.clock import Clock, fixed_clock  # noqa: E402
from cockpit.config import Settings, load_settings  # noqa: E402
from cockpit.services.book_view import BookViewRequest, book_view, cached_book_view  # noqa: E402
from cockpit.store import Store, open_store  # noqa: E402
from cockpit.store.book_view import score_run_on  # noqa: E402
from cockpit.store.scoring import usage_by_feature  # noqa: E402
from cockpit.tui.app import CockpitApp  # noqa: E402
from cockpit.tui.screens.book_view import BookViewScreen  # noqa: E402

SIZE = (120, 40)


async def first_paint(store: Store, settings: Settings, clock: Clock) -> float:
    """Seconds from `b` on the book to the book screen showing the kept view."""
    app = CockpitApp(store, settings, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.5)
        started = time.perf_counter()
        await pilot.press("b")
        while not (isinstance(app.screen, BookViewScreen) and app.screen.view is not None):
            await pilot.pause(0.001)
        await pilot.pause()
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--db", type=Path)
    parser.add_argument("--as-of", type=date.fromisoformat)
    args = parser.parse_args()
    source = ensure_book(args.db or HERE / "out" / f"book-{args.accounts}.db", args.accounts)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder) / "book-view-bench.db"
        print(f"copying {source} ...", file=sys.stderr)
        shutil.copy(source, work)
        store = open_store(work)
        settings = load_settings()
        run = score_run_on(store.db, args.as_of or date.max)
        as_of = args.as_of or (run[1] if run is not None else date.today())
        clock = fixed_clock_on(as_of)
        request = BookViewRequest(as_of=as_of)
        accounts = store.db.execute("SELECT count(*) FROM accounts").fetchone()[0]
        events = store.db.execute("SELECT count(*) FROM usage_events").fetchone()[0]
        print(f"{accounts:,} accounts, {events:,} usage events; as of {as_of}; load {os.getloadavg()[0]:.1f}")
        floor = timed("floor: usage GROUP BY", lambda: sum(1 for _ in usage_by_feature(store.db, as_of, 30)))
        view = timed("book view, computed and kept", lambda: book_view(store, settings, request, clock=clock))
        timed("book view, the kept one read", lambda: cached_book_view(store, settings, request))
        paint = asyncio.run(first_paint(store, settings, clock))
        print(f"  {'first paint of the screen, kept view':<34} {paint * 1000:7.0f} ms   (target <= 1500)")
        store.close()
    print(
        f"  ratio book view / floor {view[0] / floor[0]:>20.2f}   (cpu {view[1] / floor[1]:5.2f}; target <= 2)"
    )


def fixed_clock_on(day: date) -> Clock:
    """A clock stopped at 9:00 UTC on `day`: the view and the screen read the same day."""
    return fixed_clock(datetime.combine(day, dt_time(9), tzinfo=UTC))


if __name__ == "__main__":
    main()
