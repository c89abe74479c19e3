"""Import speed and memory: `cockpit import usage` against the practical limit and against sqlite-utils.

    python bench/import.py [--events 1000000] [--skip-sqlite-utils]

Generates a book of 10,000 accounts (no usage) and a CSV of usage events for it, then times, each on a
fresh copy of the same database, in this one run:
  (a) `cockpit import usage FILE` in its own process (validation, reference resolution, dedup, upsert),
  (b) a bare loop of Python's csv module and sqlite3 executemany into the same table in one transaction,
  (c) `sqlite-utils insert DB usage_events FILE --csv`.
Targets: (a) at least half the rate of (b) and at least 5 times (c), with peak memory under 200 MB.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from cockpit.demo import generate_into_store
from cockpit.store.db import build_database, remove_database

HERE = Path(__file__).resolve().parent
ANCHOR = date(2026, 11, 22)
COLUMNS = ["account_id", "feature_id", "occurred_at", "contact_id", "count"]


def make_base(path: Path) -> None:
    """The demo book's accounts, contacts and catalogue, with an empty usage table."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        build_database(
            path, lambda store: generate_into_store(store, accounts=10_000, anchor=ANCHOR, usage_density=0)
        )
        conn = sqlite3.connect(path)
        conn.execute("DELETE FROM usage_events")
        conn.commit()
        conn.execute("VACUUM")
        conn.close()


def make_events(base: Path, path: Path, events: int) -> None:
    """Unique (account, feature, day, contact) events, ordered by day as nightly exports are."""
    if path.exists():
        return
    conn = sqlite3.connect(base)
    accounts = [row[0] for row in conn.execute("SELECT id FROM accounts ORDER BY id")]
    features = [row[0] for row in conn.execute("SELECT id FROM features ORDER BY id")]
    contacts: dict[str, list[str]] = {}
    for account, contact in conn.execute("SELECT account_id, id FROM contacts ORDER BY id"):
        contacts.setdefault(account, []).append(contact)
    conn.close()
    per_account = -(-events // len(accounts))
    days = -(-per_account // len(features))
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        written = 0
        for day in range(days):
            when = (ANCHOR - timedelta(days=days - day)).isoformat()
            for feature in features:
                for index, account in enumerate(accounts):
                    if written == events:
                        return
                    people = contacts.get(account) or [""]
                    writer.writerow(
                        [account, feature, when, people[(day + index) % len(people)], 1 + index % 9]
                    )
                    written += 1


def book_and_events(events: int) -> tuple[Path, Path]:
    """The book and a file of `events` usage events for it, made on first use."""
    out = HERE / "out"
    base = out / "import-base.db"
    events_file = out / f"usage-{events}.csv"
    make_base(base)
    make_events(base, events_file, events)
    return base, events_file


def fresh_copy(base: Path, name: str) -> Path:
    target = base.with_name(name)
    remove_database(target)
    shutil.copy(base, target)
    return target


def run_cockpit(base: Path, events_file: Path) -> tuple[float, float]:
    db = fresh_copy(base, "import-cockpit.db")
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "cockpit", "import", "usage", str(events_file), "--db", str(db)]
    )
    _pid, status, usage = os.wait4(child.pid, 0)  # this child's own peak memory, not the generator's
    elapsed = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"cockpit import failed with exit code {child.returncode}")
    return elapsed, usage.ru_maxrss / 1024


def run_bare(base: Path, events_file: Path) -> float:
    db = fresh_copy(base, "import-bare.db")
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    started = time.perf_counter()
    with events_file.open(newline="", encoding="utf-8") as handle:
        rows = csv.reader(handle)
        next(rows)
        conn.execute("BEGIN")
        conn.executemany(f"INSERT INTO usage_events ({', '.join(COLUMNS)}) VALUES (?, ?, ?, ?, ?)", rows)
        conn.commit()
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def run_sqlite_utils(base: Path, events_file: Path) -> float:
    db = fresh_copy(base, "import-sqlite-utils.db")
    started = time.perf_counter()
    subprocess.run(["sqlite-utils", "insert", str(db), "usage_events", str(events_file), "--csv"], check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--skip-sqlite-utils", action="store_true", help="(c) takes minutes; skip it")
    args = parser.parse_args()
    base, events_file = book_and_events(args.events)
    n = args.events
    ours, peak = run_cockpit(base, events_file)
    bare = run_bare(base, events_file)
    print(f"{n:,} usage events ({events_file.stat().st_size / 1e6:.0f} MB CSV)")
    print(f"  (a) cockpit import usage     {ours:7.1f} s  {n / ours:>9,.0f} rows/s  peak {peak:.0f} MB")
    print(f"  (b) csv + executemany        {bare:7.1f} s  {n / bare:>9,.0f} rows/s")
    print(f"  (a)/(b) rate                 {bare / ours:7.2f}   (target >= 0.5)")
    if not args.skip_sqlite_utils:
        utils = run_sqlite_utils(base, events_file)
        print(f"  (c) sqlite-utils insert      {utils:7.1f} s  {n / utils:>9,.0f} rows/s")
        print(f"  (a)/(c) rate                 {utils / ours:7.2f}   (target >= 5)")


if __name__ == "__main__":
    main()
