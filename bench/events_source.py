"""Scoring where the events live: a `cockpit score` run whose usage and signals an engine holds (Parquet files
read by DuckDB, a PostgreSQL database), against the scoring's usage GROUP BY run directly in that engine.

    python bench/events_source.py [--work bench/out/events_source] [--book BOOK.db] [--runs 2]
        [--events 100000000] [--pg-events 10000000] [--only duckdb|postgresql]

The events are generated once and kept under `--work`: `--events` usage events as Parquet files written by
DuckDB's own `range` (deterministic: every draw is a hash of the event's number), with the distribution of
the demo book's usage (its accounts, skewed towards some; a few features each; a year of days; a few users
an account, 3% of rows with none), and `--pg-events` of them loaded into a PostgreSQL server that the bench
starts on 127.0.0.1 (`tests/postgres.py`; its data folder is kept too). The signals are the book's own,
copied to each engine. The book (accounts, contacts, everything a CSM writes) stays in SQLite.

Each round runs, one after the other and each in a child process of its own: the reference (the usage
GROUP BY of `cockpit.store.scoring._USAGE_GROUPS` written by hand in the engine's SQL, its rows fetched:
DuckDB's Python client over the Parquet files; `psql` for PostgreSQL, rows sent to /dev/null), then the full
scoring run through the events source. Each line gives the wall clock, the CPU seconds (the child's, and
for PostgreSQL the server's as well) and the child's peak memory (ru_maxrss); the cockpit run adds the rows
and bytes that crossed from the engine. Targets: the cockpit run within 2x the reference, and under 2 GB of
peak memory at 100M Parquet events.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))  # measure the checkout this script is in, not an installed cockpit

from tests.postgres import Server, binaries, running_server  # noqa: E402

AS_OF = date(2026, 11, 22)
"""The day scored: the shared bench books' day (/work/books/scored-100000.db was scored as of it)."""
ADOPTION_DAYS = 30
"""config.toml's adoption.window_days, which the reference query's window uses."""
HISTORY_DAYS = 365
FILE_EVENTS = 2_000_000
"""Events in one Parquet file."""
FEATURES = (
    "core-alerts", "core-dash", "core-reports", "core-workflows", "ana-cohorts", "ana-explore", "ana-funnels",
    "auto-api", "auto-rules", "auto-schedules", "auto-webhooks", "conn-audit", "conn-crm", "conn-slack",
    "conn-sso", "conn-warehouse",
)  # fmt: skip
"""The demo book's features (cockpit/demo/generator.py)."""


def events_query(first: int, last: int, accounts: int) -> str:
    """DuckDB SQL of usage events `first` up to, not including, `last`: each a pure function of its number.

    The account is skewed (a few use a lot, as enterprise teams do; most a little); each account uses a few
    of the features mostly; a day of the year before AS_OF and a second of it; one of the account's two to
    twelve users, or none (3%); a count of 1 to 12."""
    features = "[" + ", ".join(f"'{feature}'" for feature in FEATURES) + "]"
    return f"""
        SELECT printf('acc-%05d', account) AS account_id,
            {features}[1 + ((account * 5 + floor(16 * pow((hash(i, 2) % 1000000) / 1e6, 2))::BIGINT) % 16)]
                AS feature_id,
            TIMESTAMP '{AS_OF.isoformat()}' - to_days((hash(i, 3) % {HISTORY_DAYS})::INTEGER)
                + to_seconds((hash(i, 4) % 86400)::BIGINT) AS occurred_at,
            CASE WHEN hash(i, 5) % 100 < 3 THEN ''
                ELSE printf('con-%d-%d', account, (hash(i, 5) // 100) % (2 + account % 11)) END AS contact_id,
            (1 + hash(i, 6) % 12)::INTEGER AS count
        FROM (
            SELECT i, 1 + floor({accounts} * pow((hash(i, 1) % 1000000) / 1e6, 1.6))::BIGINT AS account
            FROM range({first}, {last}) AS events(i)
        )
    """


def reference_query(usage: str, *, engine: str) -> str:
    """The scoring's usage GROUP BY (`_USAGE_GROUPS`) in the engine's SQL, over a timestamp column."""
    day = (
        "CAST(occurred_at AS DATE)" if engine == "duckdb" else "CAST(occurred_at AT TIME ZONE 'UTC' AS DATE)"
    )
    window = (AS_OF - timedelta(days=ADOPTION_DAYS - 1)).isoformat()
    last30, prior30 = (AS_OF - timedelta(days=29)).isoformat(), (AS_OF - timedelta(days=59)).isoformat()
    end = (AS_OF + timedelta(days=1)).isoformat()
    return f"""
        SELECT account_id, feature_id,
            count(DISTINCT CASE WHEN occurred_at >= '{window}' THEN {day} END) AS active_days,
            count(DISTINCT CASE WHEN occurred_at >= '{window}' THEN nullif(contact_id, '') END) AS active_users,
            min({day}) AS first_use, max({day}) AS last_use,
            sum(CASE WHEN occurred_at >= '{last30}' THEN count ELSE 0 END) AS last_30,
            sum(CASE WHEN occurred_at >= '{prior30}' AND occurred_at < '{last30}' THEN count ELSE 0 END) AS prior_30
        FROM {usage}
        WHERE occurred_at < '{end}'
        GROUP BY account_id, feature_id
    """


# --- The data, made once ------------------------------------------------------------------------------------


def _done(folder: Path, recipe: dict[str, Any]) -> bool:
    marker = folder / "recipe.json"
    return marker.exists() and json.loads(marker.read_text()) == recipe


def _mark(folder: Path, recipe: dict[str, Any]) -> None:
    (folder / "recipe.json").write_text(json.dumps(recipe))


def book_signals(book: Path, out: Path) -> int:
    """The book's signals as a CSV file (account, kind, time, value, detail, ref: the columns scoring reads,
    as `cockpit.store.scoring._EVENTS_PACKED` reads them), for both engines; returns their count."""
    if out.exists():
        with out.open() as kept:
            return sum(1 for _ in kept) - 1
    connection = sqlite3.connect(f"file:{book}?mode=ro", uri=True)
    rows = connection.execute(
        """SELECT account_id, kind, occurred_at, value,
            coalesce(json_extract(payload, '$.subject'), json_extract(payload, '$.comment')),
            coalesce(json_extract(payload, '$.message_id'), nullif(source_id, ''))
        FROM signals"""
    )
    count = 0
    partial = out.with_suffix(".partial")
    with partial.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["account_id", "kind", "occurred_at", "value", "detail", "ref"])
        for row in rows:
            writer.writerow(row)
            count += 1
    connection.close()
    partial.rename(out)
    return count


def parquet_events(folder: Path, events: int, accounts: int) -> Path:
    """`events` usage events in Parquet files of FILE_EVENTS each under `folder`, unless its recipe says
    they are there."""
    import duckdb

    recipe = {"events": events, "accounts": accounts, "query": events_query(0, 1, accounts), "v": 1}
    if _done(folder, recipe):
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    connection = duckdb.connect()
    started = time.perf_counter()
    for number, first in enumerate(range(0, events, FILE_EVENTS)):
        last = min(events, first + FILE_EVENTS)
        target = folder / f"usage-{number:04d}.parquet"
        connection.execute(
            f"COPY ({events_query(first, last, accounts)}) TO '{target}' (FORMAT parquet, COMPRESSION zstd)"
        )
        print(f"  parquet: {last:,} of {events:,} events ({time.perf_counter() - started:.0f} s)", flush=True)
    connection.close()
    _mark(folder, recipe)
    return folder


def parquet_signals(signals_csv: Path, target: Path) -> Path:
    """The signals of `signals_csv` (`book_signals`) as one Parquet file, their times as UTC timestamps."""
    import duckdb

    if not target.exists():
        connection = duckdb.connect()
        connection.execute(
            f"""COPY (SELECT account_id, kind, CAST(occurred_at AS TIMESTAMP) AS occurred_at, value, detail, ref
            FROM read_csv('{signals_csv}', header = true, all_varchar = true, types = {{'value': 'DOUBLE'}}))
            TO '{target}' (FORMAT parquet)"""
        )
        connection.close()
    return target


def postgres_events(server: Server, folder: Path, events: int, accounts: int, signals_csv: Path) -> None:
    """Load `events` usage events and the signals into the server's `usage_events` and `signals` tables,
    unless its recipe says they are there."""
    import duckdb
    import psycopg

    recipe = {"events": events, "accounts": accounts, "query": events_query(0, 1, accounts), "v": 1}
    if _done(folder, recipe):
        return
    started = time.perf_counter()
    with psycopg.connect(server.dsn, autocommit=True) as connection:
        connection.execute("SET TIME ZONE 'UTC'")
        connection.execute("DROP TABLE IF EXISTS usage_events, signals")
        connection.execute(
            """CREATE TABLE usage_events (account_id text NOT NULL, feature_id text NOT NULL,
                occurred_at timestamptz NOT NULL, contact_id text NOT NULL, count integer NOT NULL)"""
        )
        connection.execute(
            """CREATE TABLE signals (account_id text NOT NULL, kind text NOT NULL,
                occurred_at timestamptz NOT NULL, value double precision, detail text, ref text)"""
        )
        with tempfile.TemporaryDirectory(dir=folder) as scratch:
            engine = duckdb.connect()
            for first in range(0, events, FILE_EVENTS):
                last = min(events, first + FILE_EVENTS)
                part = Path(scratch) / "part.csv"
                engine.execute(f"COPY ({events_query(first, last, accounts)}) TO '{part}' (HEADER false)")
                _copy_file(connection, "COPY usage_events FROM STDIN (FORMAT csv)", part)
                print(f"  postgresql: {last:,} of {events:,} events ({time.perf_counter() - started:.0f} s)")
            engine.close()
        _copy_file(connection, "COPY signals FROM STDIN (FORMAT csv, HEADER true)", signals_csv)
        connection.execute("VACUUM (FREEZE, ANALYZE) usage_events")
        connection.execute("VACUUM (FREEZE, ANALYZE) signals")
    _mark(folder, recipe)


def _copy_file(connection: Any, statement: str, path: Path) -> None:
    with connection.cursor().copy(statement) as copy, path.open("rb") as source:
        while block := source.read(1 << 20):
            copy.write(block)


# --- Measuring ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measured:
    wall: float
    cpu: float
    """The child's CPU seconds (user and system)."""
    peak_mb: float
    """The child's peak resident memory."""
    server_cpu: float
    """The PostgreSQL server's CPU seconds in that time (its processes that ended: the query's backend and
    parallel workers); 0 for DuckDB."""
    output: str


_LAUNCHER = """
import json, os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as out:
    json.dump([usage.ru_utime + usage.ru_stime, usage.ru_maxrss, os.waitstatus_to_exitcode(status)], out)
"""
"""Runs a command and writes its CPU seconds, peak memory (KB) and exit code. A child's ru_maxrss counts the
memory of the process it was forked from (Linux keeps the high-water mark across exec): forked from this
small launcher rather than from the bench, the figure is the command's own within a few MB."""


def measure(
    argv: Sequence[str], *, env: dict[str, str] | None = None, server: Server | None = None
) -> Measured:
    """Run `argv` as a child process; its wall clock, CPU and peak memory, and the server's CPU."""
    before = _server_cpu(server)
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.NamedTemporaryFile("r") as figures:
        subprocess.run(
            [sys.executable, "-S", "-c", _LAUNCHER, figures.name, *argv],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            check=False,
        )
        wall = time.perf_counter() - started
        cpu, peak_kb, code = json.loads(figures.read())
        out.seek(0)
        output = out.read().decode(errors="replace")
    if code != 0:
        raise SystemExit(f"{' '.join(argv[:4])} ... failed (exit {code}):\n{output[-4000:]}")
    return Measured(wall, cpu, peak_kb / 1024, _server_cpu(server) - before, output)


def _server_cpu(server: Server | None) -> float:
    """The CPU seconds of the server's postmaster and of its children that have ended (backends, parallel
    workers), from /proc: utime, stime, cutime and cstime in clock ticks."""
    if server is None:
        return 0.0
    fields = Path(f"/proc/{server.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(tick) for tick in fields[11:15]) / os.sysconf("SC_CLK_TCK")


_DUCKDB_REFERENCE = """
import sys, duckdb
connection = duckdb.connect(config={"memory_limit": sys.argv[2]} if sys.argv[2] else {})
table = connection.execute(sys.argv[1]).to_arrow_table()
print(table.num_rows, table.nbytes)
"""


def duckdb_reference(parquet: Path, memory_limit: str) -> Measured:
    usage = f"read_parquet('{parquet}/usage-*.parquet')"
    query = reference_query(usage, engine="duckdb")
    return measure([sys.executable, "-c", _DUCKDB_REFERENCE, query, memory_limit])


def postgres_reference(server: Server, work: Path) -> Measured:
    script = work / "reference.sql"
    script.write_text(reference_query("usage_events", engine="postgresql") + ";\n")
    return measure(
        [str(binaries() / "psql"), "-X", "-q", "-A", "-t", "-o", "/dev/null", "-f", str(script), server.dsn],
        server=server,
    )


# --- The cockpit run ------------------------------------------------------------------------------------------

_COCKPIT_RUN = """
import json, sys
from datetime import date
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from cockpit.clock import system_clock
from cockpit.config import load_settings
from cockpit.services import events
from cockpit.services.scoring import run_scoring
from cockpit.store import open_store

opened = []
open_source = events.open_source
def counted(settings):  # the source the run opens, kept to read what crossed from it
    opened.append(open_source(settings))
    return opened[-1]
events.open_source = counted
settings = load_settings(Path(sys.argv[3]))
store = open_store(Path(sys.argv[2]))
summary = run_scoring(store, settings, date.fromisoformat(sys.argv[4]), clock=system_clock())
store.close()
print(json.dumps({"accounts": summary.accounts, "rows": opened[0].traffic.rows, "bytes": opened[0].traffic.bytes}))
"""


def cockpit_run(
    book: Path, config: Path, *, env: dict[str, str] | None = None, server: Server | None = None
) -> Measured:
    return measure(
        [sys.executable, "-c", _COCKPIT_RUN, str(ROOT), str(book), str(config), AS_OF.isoformat()],
        env=env,
        server=server,
    )


def write_config(path: Path, lines: str) -> Path:
    path.write_text(lines)
    return path


# --- The report -----------------------------------------------------------------------------------------------


def _line(label: str, measured: Measured, extra: str = "") -> None:
    server = f" + server {measured.server_cpu:6.1f}" if measured.server_cpu else ""
    print(
        f"    {label:<24} {measured.wall:7.1f} s   cpu {measured.cpu:6.1f}{server}   "
        f"peak {measured.peak_mb:7.0f} MB   load {_load()}{extra}",
        flush=True,
    )


def _load() -> str:
    return " ".join(f"{figure:.1f}" for figure in os.getloadavg())


def _crossed(measured: Measured) -> str:
    figures = json.loads(measured.output.strip().splitlines()[-1])
    return f"   crossed {figures['rows']:,} rows, {figures['bytes'] / 1e6:.1f} MB"


def _seconds(measured: Measured, kind: str) -> float:
    return measured.wall if kind == "wall" else measured.cpu + measured.server_cpu


def rounds(name: str, runs: int, reference: Callable[[], Measured], cockpit: Callable[[], Measured]) -> None:
    references: list[Measured] = []
    cockpits: list[Measured] = []
    for run in range(1, runs + 1):
        print(f"  {name} round {run}:", flush=True)
        references.append(reference())
        _line("reference GROUP BY", references[-1])
        cockpits.append(cockpit())
        _line("cockpit score", cockpits[-1], _crossed(cockpits[-1]))
    for label in ("wall", "cpu"):
        ours, theirs = ([_seconds(m, label) for m in runs] for runs in (cockpits, references))
        print(
            f"  {name} {label}: reference min {min(theirs):.1f} median {statistics.median(theirs):.1f} s; "
            f"cockpit min {min(ours):.1f} median {statistics.median(ours):.1f} s; "
            f"ratio of medians {statistics.median(ours) / statistics.median(theirs):.2f} (target <= 2)"
        )
    print(f"  {name} cockpit peak memory: max {max(m.peak_mb for m in cockpits):.0f} MB (target < 2048)")


@contextmanager
def _server(folder: Path) -> Iterator[Server]:
    settings = {"work_mem": "256MB", "shared_buffers": "512MB", "max_wal_size": "4GB"}
    with running_server(folder, settings=settings) as server:
        yield server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=HERE / "out" / "events_source")
    parser.add_argument("--book", type=Path, default=Path("/work/books/book-100000.db"))
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=100_000_000)
    parser.add_argument("--pg-events", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument(
        "--memory-limit",
        default="",
        help="DuckDB's memory_limit, for both runs (default: the reference's is"
        " DuckDB's default, the cockpit run's config.toml's)",
    )
    parser.add_argument("--only", choices=("duckdb", "postgresql"))
    args = parser.parse_args()
    work: Path = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    work.chmod(0o755)  # the PostgreSQL server, run as nobody under root, reaches its folder through it
    print(f"load average at start: {_load()}; {os.cpu_count()} cores", flush=True)
    signals_csv = work / "signals.csv"
    signals = book_signals(args.book, signals_csv)
    book = work / "book.db"
    if not book.exists():
        shutil.copy(args.book, book)  # the runs add their scores; the shared book stays as it was

    if args.only in (None, "duckdb"):
        parquet = parquet_events(work / f"parquet-{args.events}", args.events, args.accounts)
        signals_parquet = parquet_signals(signals_csv, work / "signals.parquet")
        config = write_config(
            work / "duckdb.toml",
            """[events]\nsource = "duckdb"\n[events.duckdb]\n"""
            + (f"""memory_limit = "{args.memory_limit}"\n""" if args.memory_limit else "")
            + f"""[events.usage]\ntable = "{parquet}/usage-*.parquet"\n"""
            f"""[events.signals]\ntable = "{signals_parquet}"\n""",
        )
        print(f"duckdb: {args.events:,} usage events in Parquet, {signals:,} signals; {args.runs} rounds")
        rounds(
            "duckdb",
            args.runs,
            lambda: duckdb_reference(parquet, args.memory_limit),
            lambda: cockpit_run(book, config),
        )

    if args.only in (None, "postgresql"):
        with _server(work / "postgres") as server:
            postgres_events(server, work / "postgres", args.pg_events, args.accounts, signals_csv)
            config = write_config(
                work / "postgresql.toml",
                """[events]\nsource = "postgresql"\n[events.postgresql]\ndsn_env = "BENCH_EVENTS_DSN"\n""",
            )
            env = {**os.environ, "BENCH_EVENTS_DSN": server.dsn}
            print(f"postgresql: {args.pg_events:,} usage events, {signals:,} signals; {args.runs} rounds")
            rounds(
                "postgresql",
                args.runs,
                lambda: postgres_reference(server, work),
                lambda: cockpit_run(book, config, env=env, server=server),
            )
    print(
        f"load average at end: {_load()}; this process's peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )


if __name__ == "__main__":
    main()
