"""Import speed and memory: `cockpit import usage` against the physical floor, a bare loop and sqlite-utils.

    python bench/import.py [--events 1000000] [--runs 3] [--forms day,plain,z,offset,space,dmy]
                           [--skip-sqlite-utils]

Generates a book of 10,000 accounts (no usage) and, per time form, a CSV of usage events for it (the same
events; only how their times are written differs). Each run then times, alternating, each on a fresh copy
of the database and each in CPU (user + system, of the process doing the work) as well as wall time:
  floor   the sqlite3 CLI's `.import --csv` into a plain table without a key (the physical floor), or, where
          no sqlite3 CLI is on the PATH, a bare executemany of the parsed CSV into that table (it says which);
  cockpit `cockpit import usage FILE` in its own process, once per time form (validation, reference
          resolution, dedup, staging, upsert), with its peak memory;
  bare    Python's csv module and sqlite3 executemany, in one transaction, into a table with the same
          unique key as usage_events (the key's index is most of the work of keeping events unique);
  utils   `sqlite-utils insert DB usage_events FILE --csv`.
The references read the `z` file (the times as most exports write them). The ratios are rates relative to
cockpit's, per run (reference time / cockpit time), reported as min and median over the runs.
Targets, for every time form: >= 0.35 of the floor, >= 0.7 of the bare loop, >= 5 of sqlite-utils, peak
memory under 200 MB.

Measured (2 busy cores, load 4.9-6.8, 3 runs; CPU min / median): the floor 1.00 / 1.01 s, the bare loop
5.05 / 5.15 s, sqlite-utils 36.9 / 37.1 s, cockpit 4.36 / 4.43 s for plain times and 4.42 / 4.50 s for `Z`
ones (usage CSV staged as cells, made events in SQL): 0.20-0.23 of the floor, 1.05-1.16 of the bare loop,
7.3-8.4 times sqlite-utils, 146 MB. Against the main branch before the last three changes (5 runs
alternating, load 3.4-7.2): 4.87 -> 4.39 s (plain), 4.90 -> 4.44 s (`Z`). The floor's ratio is bounded by what
is not the floor's work (CPU per 1M rows, measured apart): starting cockpit 0.5 s, reading, splitting and
staging the cells 1.07 s (binding 5M values is most of it), making them events 2.15 s (time rule 0.5,
references 0.5, sort 0.35, key index 0.37, other cells 0.4) and applying them 0.65 s (insert 0.45, commit
0.2). The time rule tells a `T` from a space by two patterns: 0.08 s less for `Z` times and 0.12 s for plain
ones, 0.06-0.07 s more for times with a space (4.60 -> 4.67 s CPU median, 4 runs alternating, load 3.1-4.3).

Tried and dropped (measured with a throwaway probe, 1M `Z` rows, load 3.4-4.0, 3 runs alternating with
cockpit 5.0-5.3 s CPU and the floor 1.0 s): DuckDB (the optional extra) reading the CSV, resolving the
references, normalising the times and sorting by the key (1.25 s CPU on one thread, plus 0.3 s for its first
query, which imports pandas, numpy and pyarrow), then the finished events bound to SQLite as Python values
(Arrow batches to lists 0.4 s, multi-row INSERTs 0.85 s; plain `executemany` 1.5 s, JSON through
`json_each` 2.5 s). Without the guards, the Python fallback and the CLI's start, that alone took 3.75 s into
the staging file and the apply (3.35 s straight into the book, under the write lock), peaking at 450-490 MB:
short of the 3.5 s that could reach 0.35 of the floor, since any path through Python's sqlite3 pays for a
Python object and a bind per value, 7M of them.

Also tried and dropped (SQLite 3.40.1, CPU per 1M rows, load 2-7): the text of a read handed to SQLite
whole, for its C code to split. A JSON array of rows built by `str.replace` (0.24 s) and split by
`INSERT ... SELECT value->>0, ... FROM json_each(?)`, one bind per megabyte, took 1.10-1.16 s to stage (1.34-
1.44 s in all, against 1.17-1.2 s then for splitting in Python and binding each cell): `json_each` renders
each row's array as text again and `->>` parses it, 1.55 s per 1M rows for the five cells. One flat array of
cells parses fast (0.23 s) but yields 5M values (0.73 s) with no cheap way back to rows (`lead()` over them
10.7 s); an array of lines parses in 0.06 s, but splitting a line in SQL (`instr`, `substr`) took 6.3 s.
Going from `json_each` straight into the keyed table means inserting in file order, dearer than sorting
(3.89 s against 2.37 s sorted). Sorting cheaper (2.37 s then, with the key): by an integer rank, then the rest
of the key, 2.35 s; by one concatenated key, 3.46 s; a 200 MB sorter cache, 2.42 s (270 MB peak);
`temp_store = MEMORY`, 2.50 s. Kept: by account and feature ids, then the row, 2.05-2.12 s (as cheap as by
their ranks, which took 0.37 s per insert to work out for a book of 200,000 accounts).
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from pathlib import Path

from cockpit.demo import generate_into_store
from cockpit.store.db import build_database, remove_database

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
ANCHOR = date(2026, 11, 22)
COLUMNS = ["account_id", "feature_id", "occurred_at", "contact_id", "count"]
FORMS: dict[str, Callable[[str, int], str]] = {
    "day": lambda day, _second: day,
    "plain": lambda day, second: f"{day}T{_clock(second)}",
    "z": lambda day, second: f"{day}T{_clock(second)}Z",
    "offset": lambda day, second: f"{day}T{_clock(second)}+02:00",
    "space": lambda day, second: f"{day} {_clock(second)}",
    "dmy": lambda day, second: f"{day[8:]}/{day[5:7]}/{day[:4]} {_clock(second)}",
}
"""How each form writes the time of an event on `day`, `second` seconds into it; `dmy` day first, as a
European export does, imported with `--dayfirst`."""
OPTIONS = {"dmy": ["--dayfirst"]}
REFERENCE_FORM = "z"
SAME_KEY_TABLE = """CREATE TABLE usage_events (
    account_id TEXT NOT NULL, feature_id TEXT NOT NULL, occurred_at TEXT NOT NULL,
    contact_id TEXT NOT NULL DEFAULT '', source_id TEXT NOT NULL DEFAULT '', count INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (account_id, feature_id, occurred_at, contact_id, source_id)
) WITHOUT ROWID"""
PLAIN_TABLE = f"CREATE TABLE usage_events ({', '.join(COLUMNS)})"


def _clock(second: int) -> str:
    return f"{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}"


@dataclass(frozen=True)
class Timing:
    wall: float
    cpu: float
    peak_mb: float = 0.0


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


def make_events(base: Path, path: Path, events: int, form: str) -> None:
    """Unique (account, feature, time, contact) events, ordered by day as nightly exports are, each at a
    time of day of its own (when the form has times)."""
    if path.exists():
        return
    write_time = FORMS[form]
    conn = sqlite3.connect(base)
    accounts = [row[0] for row in conn.execute("SELECT id FROM accounts ORDER BY id")]
    features = [row[0] for row in conn.execute("SELECT id FROM features ORDER BY id")]
    contacts: dict[str, list[str]] = {}
    for account, contact in conn.execute("SELECT account_id, id FROM contacts ORDER BY id"):
        contacts.setdefault(account, []).append(contact)
    conn.close()
    per_account = -(-events // len(accounts))
    days = -(-per_account // len(features))
    partial = path.with_suffix(".partial")
    with partial.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        written = 0
        for day in range(days):
            when = (ANCHOR - timedelta(days=days - day)).isoformat()
            for feature in features:
                for index, account in enumerate(accounts):
                    if written == events:
                        break
                    people = contacts.get(account) or [""]
                    moment = write_time(when, (written * 7919) % 86_400)
                    writer.writerow(
                        [account, feature, moment, people[(day + index) % len(people)], 1 + index % 9]
                    )
                    written += 1
    partial.rename(path)


def fresh_copy(base: Path, name: str) -> Path:
    target = base.with_name(name)
    remove_database(target)
    shutil.copy(base, target)
    return target


def fresh_empty(name: str, table: str) -> Path:
    target = OUT / name
    remove_database(target)
    conn = sqlite3.connect(target)
    conn.execute(table)
    conn.commit()
    conn.close()
    return target


LAUNCHER = """
import os, subprocess, sys, time
started = time.perf_counter()
child = subprocess.Popen(sys.argv[2:], stdout=subprocess.DEVNULL)
_pid, status, usage = os.wait4(child.pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(f"{os.waitstatus_to_exitcode(status)} {time.perf_counter() - started} "
              f"{usage.ru_utime + usage.ru_stime} {usage.ru_maxrss}")
"""
"""Runs a command and writes its exit code, wall and CPU time and peak memory to a file. A child's peak
memory (ru_maxrss) starts from its parent's at the fork, so a command is started from this small launcher,
not from the benchmark, which holds far more than an import needs."""


def in_child(command: list[str]) -> Timing:
    """Run `command`, timing its wall and CPU time and its own peak memory (not this process's)."""
    report = OUT / "child-usage.txt"
    subprocess.run([sys.executable, "-c", LAUNCHER, str(report), *command], check=True)
    code, wall, cpu, peak_kib = report.read_text().split()
    if int(code) != 0:
        raise SystemExit(f"{command[:4]} failed with exit code {code}")
    return Timing(float(wall), float(cpu), int(peak_kib) / 1024)


def run_cockpit(base: Path, events_file: Path, options: list[str]) -> Timing:
    db = fresh_copy(base, "import-cockpit.db")
    command = [sys.executable, "-m", "cockpit", "import", "usage", str(events_file), "--db", str(db)]
    return in_child([*command, *options])


def bare_loop(db: Path, events_file: Path) -> Timing:
    """csv + executemany in one transaction, in this process (CPU is this process's)."""
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    started, cpu = time.perf_counter(), time.process_time()
    with events_file.open(newline="", encoding="utf-8") as handle:
        rows = csv.reader(handle)
        next(rows)
        conn.execute("BEGIN")
        conn.executemany(f"INSERT INTO usage_events ({', '.join(COLUMNS)}) VALUES (?, ?, ?, ?, ?)", rows)
        conn.commit()
    timing = Timing(time.perf_counter() - started, time.process_time() - cpu)
    conn.close()
    return timing


def run_floor(events_file: Path) -> Timing:
    db = fresh_empty("import-floor.db", PLAIN_TABLE)
    if shutil.which("sqlite3") is None:
        return bare_loop(db, events_file)
    return in_child(["sqlite3", str(db), f".import --csv --skip 1 {events_file} usage_events"])


def run_bare(events_file: Path) -> Timing:
    return bare_loop(fresh_empty("import-bare.db", SAME_KEY_TABLE), events_file)


def run_sqlite_utils(base: Path, events_file: Path) -> Timing:
    db = fresh_copy(base, "import-sqlite-utils.db")
    return in_child(["sqlite-utils", "insert", str(db), "usage_events", str(events_file), "--csv"])


def spread(values: list[float]) -> str:
    return f"min {min(values):6.2f}  median {statistics.median(values):6.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--forms", default=",".join(FORMS), help=f"time forms to time ({', '.join(FORMS)})")
    parser.add_argument("--skip-sqlite-utils", action="store_true", help="it takes minutes at 1M events")
    args = parser.parse_args()
    forms = args.forms.split(",")
    unknown = set(forms) - set(FORMS)
    if unknown:
        parser.error(f"unknown time forms: {', '.join(sorted(unknown))}")
    base = OUT / "import-base.db"
    make_base(base)
    files = {form: OUT / f"usage-{args.events}-{form}.csv" for form in {*forms, REFERENCE_FORM}}
    for form, path in files.items():
        make_events(base, path, args.events, form)
    reference_file = files[REFERENCE_FORM]
    floor_name = "sqlite3 .import --csv" if shutil.which("sqlite3") else "executemany (no sqlite3 CLI)"
    references: dict[str, Callable[[], Timing]] = {
        f"floor: {floor_name}, plain table": partial(run_floor, reference_file),
        "bare: csv + executemany, same key": partial(run_bare, reference_file),
    }
    if not args.skip_sqlite_utils:
        references["utils: sqlite-utils insert --csv"] = partial(run_sqlite_utils, base, reference_file)
    timings: dict[str, list[Timing]] = {name: [] for name in [*references, *forms]}
    loads: list[float] = []
    n = args.events
    print(f"{n:,} usage events, {args.runs} runs; references read the '{REFERENCE_FORM}' file", flush=True)
    for run in range(args.runs):
        loads.append(os.getloadavg()[0])
        order = [*references] if run % 2 == 0 else [*reversed(references)]
        steps = [(name, references[name]) for name in order[:1]]
        steps += [(form, partial(run_cockpit, base, files[form], OPTIONS.get(form, []))) for form in forms]
        steps += [(name, references[name]) for name in order[1:]]
        for name, step in steps:
            timing = step()
            timings[name].append(timing)
            print(
                f"  run {run + 1} {name:<40} wall {timing.wall:6.1f} s  cpu {timing.cpu:6.1f} s", flush=True
            )
    print(f"load average (1 min) at each run's start: {', '.join(f'{load:.2f}' for load in loads)}")
    print(f"{'':<40} {'wall s':>22} {'cpu s':>22}")
    for name, measured in timings.items():
        wall, cpu = [t.wall for t in measured], [t.cpu for t in measured]
        label = name if name in references else f"cockpit, times '{name}'"
        print(f"  {label:<38} {spread(wall)}  {spread(cpu)}")
    targets = dict(zip(references, (0.35, 0.7, 5.0), strict=False))
    print("cockpit's rate against each reference (reference time / cockpit's, same run), target in brackets:")
    for form in forms:
        ours = timings[form]
        peak = max(t.peak_mb for t in ours)
        print(f"  times '{form}': peak memory {peak:.0f} MB (target < 200)")
        for name, target in targets.items():
            theirs = timings[name]
            wall = [r.wall / o.wall for r, o in zip(theirs, ours, strict=True)]
            cpu = [r.cpu / o.cpu for r, o in zip(theirs, ours, strict=True)]
            print(f"    vs {name.split(':')[0]:<6} [>= {target}]  wall {spread(wall)}   cpu {spread(cpu)}")


if __name__ == "__main__":
    main()
