"""Scoring speed: a full `cockpit score` run against the one SQL GROUP BY its usage components need.

    python bench/score.py [--db bench/out/book-100000.db] [--accounts 100000] [--runs 3]

The floor is the aggregation over `usage_events` that scoring cannot do without (one pass over the big
table, read as plain rows); the full run adds the signals and the smaller tables, the rules for every
account and writing the run. Target: the full run within 3 times the floor. Both are measured in this run,
on the same database, one after the other `--runs` times; each line also gives the CPU seconds of this
process (all its threads), which another process's load on the machine changes less than the wall clock.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # measure the checkout this script is in, not an installed cockpit

from cockpit.clock import system_clock  # noqa: E402
from cockpit.config import load_settings  # noqa: E402
from cockpit.demo import generate_into_store  # noqa: E402
from cockpit.services.scoring import run_scoring  # noqa: E402
from cockpit.store import open_store  # noqa: E402
from cockpit.store.db import build_database  # noqa: E402
from cockpit.store.scoring import usage_by_feature  # noqa: E402

AS_OF = date(2026, 11, 22)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--db", type=Path)
    parser.add_argument("--runs", type=int, default=1, help="floor and full run this many times each")
    args = parser.parse_args()
    source = args.db or HERE / "out" / f"book-{args.accounts}.db"
    if not source.exists():
        source.parent.mkdir(parents=True, exist_ok=True)
        build_database(source, lambda store: generate_into_store(store, accounts=args.accounts, anchor=AS_OF))
    work = source.with_name("score-bench.db")
    shutil.copy(source, work)  # the runs write their scores; keep the generated book as it was
    store = open_store(work)
    settings = load_settings()
    events = store.db.execute("SELECT count(*) FROM usage_events").fetchone()[0]
    floors: list[float] = []
    fulls: list[float] = []
    for run in range(1, args.runs + 1):
        started, cpu = time.perf_counter(), time.process_time()
        groups = sum(1 for _ in usage_by_feature(store.db, AS_OF, settings.adoption.window_days))
        floor, floor_cpu = time.perf_counter() - started, time.process_time() - cpu
        started, cpu = time.perf_counter(), time.process_time()
        summary = run_scoring(store, settings, AS_OF, clock=system_clock())
        full, full_cpu = time.perf_counter() - started, time.process_time() - cpu
        floors.append(floor)
        fulls.append(full)
        if run == 1:
            print(
                f"{summary.accounts:,} accounts scored, {events:,} usage events "
                f"({groups:,} account-feature groups)"
            )
        print(
            f"  run {run}: floor {floor:6.1f} s (cpu {floor_cpu:5.1f})   full {full:6.1f} s "
            f"(cpu {full_cpu:5.1f})   ratio {full / floor:5.2f}",
            flush=True,
        )
    store.close()
    floor, full = statistics.median(floors), statistics.median(fulls)
    print(f"  floor: usage GROUP BY        {floor:7.1f} s")
    print(f"  full scoring run             {full:7.1f} s")
    ratios = [full / floor for full, floor in zip(fulls, floors, strict=True)]
    print(
        f"  ratio full / floor           {statistics.median(ratios):7.2f}   (target <= 3; median of the runs)"
    )


if __name__ == "__main__":
    main()
