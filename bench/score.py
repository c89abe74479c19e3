"""Scoring speed: a full `cockpit score` run against the one SQL GROUP BY its usage components need.

    python bench/score.py [--db bench/out/book-100000.db] [--accounts 100000]

The floor is the aggregation over `usage_events` that scoring cannot do without (one pass over the big
table); the full run adds the other tables, the rules for every account and writing the run. Target: the
full run within 3 times the floor. Both are measured in this run, on the same database.
"""

from __future__ import annotations

import argparse
import shutil
import time
from datetime import date
from pathlib import Path

from cockpit.config import load_settings
from cockpit.demo import generate_into_store
from cockpit.score_runs import run_scoring
from cockpit.store import open_store
from cockpit.store.db import build_database
from cockpit.store.scoring import usage_by_feature

HERE = Path(__file__).resolve().parent
AS_OF = date(2026, 11, 22)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--db", type=Path)
    args = parser.parse_args()
    source = args.db or HERE / "out" / f"book-{args.accounts}.db"
    if not source.exists():
        source.parent.mkdir(parents=True, exist_ok=True)
        build_database(source, lambda store: generate_into_store(store, accounts=args.accounts, anchor=AS_OF))
    work = source.with_name("score-bench.db")
    shutil.copy(source, work)  # the run writes its scores; keep the generated book as it was
    store = open_store(work)
    settings = load_settings()
    events = store.db.execute("SELECT count(*) FROM usage_events").fetchone()[0]

    started = time.perf_counter()
    groups = sum(1 for _ in usage_by_feature(store.db, AS_OF, settings.adoption.window_days))
    floor = time.perf_counter() - started

    summary = run_scoring(store, settings, AS_OF)
    store.close()
    print(
        f"{summary.accounts:,} accounts scored, {events:,} usage events ({groups:,} account-feature groups)"
    )
    print(f"  floor: usage GROUP BY        {floor:7.1f} s")
    print(f"  full scoring run             {summary.seconds:7.1f} s")
    print(f"  ratio full / floor           {summary.seconds / floor:7.2f}   (target <= 3)")


if __name__ == "__main__":
    main()
