"""Score history on disk: a year of nightly runs, kept by the retention policy, against one run's size.

    python bench/history.py [--accounts 10000] [--db bench/out/history-10000.db]

Generates a book, scores it once, and reports the bytes per score row (dbstat) as stored now (the run's
terms kept once) and as stored before (the terms inline in every row). Then gives the book a year of nightly
runs (the first run copied to every night) of which only those `[history]` keeps are written, older ones
compact (what the nightly pruning leaves: the first is compacted as cockpit does it, timed, the others copy
its compact form), runs `cockpit db compact` over them, and reports the file's size and the scores' size
against one run's, and how long the trend of one account over the year takes to read. Target (issue 21): a
year of nightly runs under 3x one run's size.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # measure the checkout this script is in, not an installed cockpit

from cockpit.clock import fixed_clock  # noqa: E402
from cockpit.config import load_settings  # noqa: E402
from cockpit.demo import generate_into_store  # noqa: E402
from cockpit.scoring import explain  # noqa: E402
from cockpit.scoring.retention import RunDay, runs_to_keep  # noqa: E402
from cockpit.services.history import compact  # noqa: E402
from cockpit.services.scoring import run_scoring  # noqa: E402
from cockpit.store import Store, open_store  # noqa: E402
from cockpit.store.compact_scores import compact_bytes, compact_score_runs  # noqa: E402
from cockpit.store.db import build_database  # noqa: E402
from cockpit.store.scoring import account_view  # noqa: E402

TODAY = date(2026, 11, 22)
FIRST = TODAY - timedelta(days=364)


def scores_bytes(store: Store) -> int:
    """The pages of the scores' tables (full rows, compact runs, account keys) and their indexes."""
    return int(
        store.db.execute(
            "SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name IN (SELECT name FROM sqlite_master "
            "WHERE tbl_name IN ('scores', 'compact_scores', 'score_keys'))"
        ).fetchone()[0]
    )


def file_bytes(store: Store) -> int:
    store.db.execute("VACUUM")
    return int(
        store.db.execute("SELECT page_count * page_size FROM pragma_page_count, pragma_page_size").fetchone()[
            0
        ]
    )


def score_first_night(store: Store) -> int:
    """The book scored as of the year's first night: the run the year's others copy."""
    clock = fixed_clock(datetime(FIRST.year, FIRST.month, FIRST.day, 9, tzinfo=UTC))
    return run_scoring(store, load_settings(), FIRST, clock=clock).run_id


def copy_run(store: Store, run_id: int, day: date, *, compact: bool = False) -> int:
    """Another run as of `day`, with the scores of `run_id` (its compact form, with `compact`)."""
    with store.write() as db:
        new = db.execute(
            "INSERT INTO score_runs (as_of, started_at, finished_at, accounts, settings, terms) "
            "SELECT ?, started_at, finished_at, accounts, settings, terms FROM score_runs WHERE id = ?",
            [day.isoformat(), run_id],
        ).lastrowid
        if compact:
            db.execute(
                "INSERT INTO compact_scores SELECT ?, accounts, keys, labels, codes, health, churn_risk "
                "FROM compact_scores WHERE run_id = ?",
                [new, run_id],
            )
            return int(new or 0)
        columns = [name for (name,) in db.execute("SELECT name FROM pragma_table_info('scores')")]
        rest = ", ".join(name for name in columns if name not in {"run_id", "account_id", "as_of"})
        db.execute(
            f"INSERT INTO scores (run_id, account_id, as_of, {rest}) "
            f"SELECT ?, account_id, ?, {rest} FROM scores WHERE run_id = ?",
            [new, day.isoformat(), run_id],
        )
    return int(new or 0)


def inline_terms(store: Store, run_id: int) -> None:
    """Store the run's rows as cockpit did before runs kept their terms: the terms in every row."""
    own = f"[{explain.VERSION},{explain.RUN_TERMS},"
    with store.write() as db:
        (terms,) = db.execute("SELECT terms FROM score_runs WHERE id = ?", [run_id]).fetchone()
        db.execute(
            "UPDATE scores SET explanation = ? || substr(explanation, ?) WHERE run_id = ?",
            [f"[{explain.VERSION},{terms},", len(own) + 1, run_id],
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--db", type=Path)
    args = parser.parse_args()
    book = args.db or HERE / "out" / f"history-book-{args.accounts}.db"
    if not book.exists():
        book.parent.mkdir(parents=True, exist_ok=True)
        print(f"generating {args.accounts:,} accounts into {book} ...", file=sys.stderr)
        build_database(book, lambda store: generate_into_store(store, accounts=args.accounts, anchor=TODAY))
    work = book.with_name(f"{book.stem}-nightly.db")  # never the book itself, whatever --db names
    shutil.copyfile(book, work)
    settings = load_settings()
    store = open_store(work)
    try:
        unscored = file_bytes(store)
        run = score_first_night(store)
        rows = store.db.execute("SELECT count(*) FROM scores WHERE run_id = ?", [run]).fetchone()[0]
        one_file = file_bytes(store)
        one_scores = scores_bytes(store)
        inline_terms(store, run)
        file_bytes(store)
        before_scores = scores_bytes(store)
        print(f"score rows per run: {rows:,}")
        print(f"bytes per score row, terms inline (before): {before_scores / rows:,.0f}")
        print(f"bytes per score row, terms with the run (now): {one_scores / rows:,.0f}")
        store.close()
        shutil.copyfile(book, work)  # again, the run stored the way cockpit stores it now
        store = open_store(work)
        run = score_first_night(store)
        nights = [FIRST + timedelta(days=night) for night in range(365)]
        kept = runs_to_keep(
            [RunDay(index, day, True) for index, day in enumerate(nights)], TODAY, settings.history
        )
        compacted: int | None = None
        last = max(kept)
        for index, day in enumerate(nights[1:], start=1):
            if index not in kept:
                continue
            if index == last:  # the latest run stays in full
                copy_run(store, run, day)
            elif compacted is None:
                compacted = copy_run(store, run, day)
                started = time.perf_counter()
                with store.write() as db:
                    compact_score_runs(db, [compacted])
                print(
                    f"compacting one run: {time.perf_counter() - started:.1f} s; its compact form "
                    f"{compact_bytes(store.db, [compacted]) / rows:.1f} bytes per score"
                )
            else:
                copy_run(store, compacted, day, compact=True)
        result = compact(store, settings, TODAY, dry_run=False)
        year_file, year_scores = result.size_after, scores_bytes(store)
        (account,) = store.db.execute("SELECT account_id FROM scores LIMIT 1").fetchone()
        started = time.perf_counter()
        trend = account_view(store.db, account)
        assert trend is not None
        print(
            f"one account's trend over {len(trend.health_history)} runs read in "
            f"{(time.perf_counter() - started) * 1000:.0f} ms"
        )
        print(f"runs of a year kept by [history]: {result.runs_kept} (compact dropped {result.runs_dropped})")
        print(
            f"file: book alone {unscored / 1e6:,.1f} MB, with one run {one_file / 1e6:,.1f} MB, "
            f"with a year {year_file / 1e6:,.1f} MB: {year_file / one_file:.2f}x one run's file"
        )
        one_run = one_file - unscored
        print(
            f"one run adds {one_run / 1e6:,.1f} MB; a year adds {(year_file - unscored) / 1e6:,.1f} MB: "
            f"{(year_file - unscored) / one_run:.1f}x one run's scores (scores pages: "
            f"{year_scores / one_scores:.1f}x)"
        )
    finally:
        store.close()


if __name__ == "__main__":
    main()
