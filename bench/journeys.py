"""Journey pattern speed: `cockpit journeys` on a big book against the usage GROUP BY floor.

    python bench/journeys.py [--db bench/out/book-100000.db] [--accounts 100000]

On the benchmark book (generated as bench/open_book.py does when missing, and copied: opening it may migrate it),
in this order and in this one run: the floor (the usage GROUP BY every scoring run makes), then the journeys
to churn as of the same day (reading every account's events and use, the timelines, the mining, the
significance filter, the customers on each path). Target: the journeys within 5 times the floor. Each line
also gives the CPU seconds of this process.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from churn import AS_OF, timed  # also puts this checkout first on the path
from open_book import HERE, ensure_book

from cockpit.config import load_settings
from cockpit.services.journeys import JourneyReport, find_journeys
from cockpit.store import open_store
from cockpit.store.scoring import usage_by_feature


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--db", type=Path)
    args = parser.parse_args()
    source = ensure_book(args.db or HERE / "out" / f"book-{args.accounts}.db", args.accounts)
    work = source.with_name("journeys-bench.db")
    if source.resolve() != work.resolve():
        shutil.copy(source, work)  # opening migrates the copy; keep the generated book as it was
    store = open_store(work)
    settings = load_settings()
    accounts = store.db.execute("SELECT count(*) FROM accounts").fetchone()[0]
    events = store.db.execute("SELECT count(*) FROM usage_events").fetchone()[0]
    print(f"{accounts:,} accounts, {events:,} usage events; as of {AS_OF}")
    floor, floor_cpu = timed(
        "floor: usage GROUP BY", lambda: sum(1 for _ in usage_by_feature(store.db, AS_OF, 30))
    )
    reports: list[JourneyReport] = []
    took, took_cpu = timed("journeys to churn", lambda: reports.append(find_journeys(store, settings, AS_OF)))
    result = reports[0]
    print(
        f"  {result.decided:,} accounts churned or renewed in {result.lookback_days} days, {result.churned:,} "
        f"churned; {result.tested:,} patterns tested, {len(result.paths)} significant; "
        f"{result.customers:,} customers matched"
    )
    for path in result.paths[:8]:
        pattern = path.pattern
        print(
            f"    lift {pattern.lift:5.2f}  churn {pattern.churn_rate:4.0%}  {pattern.accounts:7,} accounts  "
            f"lead {pattern.lead_days:3}d  now {len(path.on_path):6,}  {pattern.text}"
        )
    print(
        f"  ratio journeys / floor        {took / floor:5.2f}   (cpu {took_cpu / floor_cpu:5.2f}; target <= 5)"
    )
    store.close()


if __name__ == "__main__":
    main()
