"""Time of `cockpit accounts list --json` (the whole book, streamed page by page) against one raw SELECT of
the same rows, each in its own Python process, alternating in the same run; CPU and wall.

    python bench/accounts_list.py [--accounts 100000] [--db bench/out/book-100000.db] [--runs 3]

The reference reads the accounts with the latest run's scores in one query, in the book's name order, and
writes each row as a JSON line (so both sides pay Python's start and the JSON). Target: cockpit within 3x
the reference at 100k accounts. The load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from open_book import HERE, ensure_book

_RAW_SELECT = """
import json, sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
rows = conn.execute(
    "SELECT a.id, a.name, a.owner, a.plan, a.mrr, a.renewal_date, s.health, s.health_band, s.churn_tier, "
    "s.value_tier, s.priority, s.adoption_status, s.cross_sell_ready, a.churned_on, s.churn_risk, s.advocacy "
    "FROM accounts a LEFT JOIN scores s ON s.account_id = a.id AND s.run_id = "
    "(SELECT max(id) FROM score_runs WHERE finished_at IS NOT NULL) "
    "WHERE a.deleted_at IS NULL ORDER BY a.name COLLATE NOCASE, a.id"
)
names = [column[0] for column in rows.description]
for row in rows:
    sys.stdout.write(json.dumps(dict(zip(names, row))) + "\\n")
"""


@dataclass(frozen=True)
class Timing:
    wall: float
    cpu: float
    lines: int


def children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def run(args: list[str]) -> Timing:
    started, cpu = time.perf_counter(), children_cpu()
    done = subprocess.run([sys.executable, *args], capture_output=True, text=True, check=True)
    return Timing(time.perf_counter() - started, children_cpu() - cpu, done.stdout.count("\n"))


def summary(label: str, timings: list[Timing]) -> str:
    walls, cpus = [t.wall for t in timings], [t.cpu for t in timings]
    return (
        f"  {label:<28} wall min {min(walls):6.2f} s median {statistics.median(walls):6.2f} s   "
        f"CPU min {min(cpus):6.2f} s median {statistics.median(cpus):6.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--db", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    path = ensure_book(args.db or HERE / "out" / f"book-{args.accounts}.db", args.accounts)
    listing = ["-m", "cockpit", "accounts", "list", "--json", "--sort", "name", "--include-churned"]
    listing += ["--db", str(path)]
    ours: list[Timing] = []
    raw: list[Timing] = []
    for _ in range(args.runs):
        ours.append(run(listing))
        raw.append(run(["-c", _RAW_SELECT, str(path)]))
    if {t.lines for t in ours} != {t.lines for t in raw}:
        sys.exit(f"the two read different rows: {ours[0].lines} lines against {raw[0].lines}")
    print(
        f"accounts list --json over {raw[0].lines:,} accounts, {args.runs} alternating runs, load {os.getloadavg()}"
    )
    print(summary("cockpit accounts list", ours))
    print(summary("one raw SELECT", raw))
    for name, ratios in (
        ("wall", [o.wall / r.wall for o, r in zip(ours, raw, strict=True)]),
        ("CPU", [o.cpu / r.cpu for o, r in zip(ours, raw, strict=True)]),
    ):
        print(
            f"  ratio cockpit / SELECT ({name}, median of pairs) {statistics.median(ratios):5.2f} x  (target <= 3x)"
        )


if __name__ == "__main__":
    main()
