"""The readers of one account's signals and the plan's unopened emails, from Parquet files through DuckDB, against
the same questions put to the SQLite book.

    python bench/events_readers.py [--book /work/books/scored-100000.db] [--work bench/out/events_readers]
        [--runs 3] [--accounts 20]

The book is read in place and never written (opened immutable); its signals are written once to Parquet under
`--work`, with the column names the tests' sources use (`tests/events_sources.py`). Then, in rounds that
alternate SQLite and DuckDB: the outreach plan's unopened emails of the whole book (SQLite:
`store/outreach._unopened_emails`; DuckDB: `services/events.unopened_emails`, which opens the source) and the
journey signals of `--accounts` accounts (SQLite: `store/journey.journey` of the signals; DuckDB: the source
opened and asked `account_signals` for each, as the account screen does). Each line gives the min and median
wall and CPU seconds of the rounds, and the load average at the end.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # measure the checkout this script is in, not an installed cockpit

import duckdb  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from cockpit.config import load_settings  # noqa: E402
from cockpit.outreach.facts import LastEmail  # noqa: E402
from cockpit.services import events  # noqa: E402
from cockpit.store.journey import JOURNEY_LIMIT, SKIPPED_SIGNALS, journey  # noqa: E402
from cockpit.store.outreach import ALL_ACCOUNTS, _unopened_emails  # noqa: E402
from cockpit.store.sqlite import Database  # noqa: E402
from tests.events_sources import _SIGNALS_SQL, SIGNAL_COLUMNS, USAGE_COLUMNS  # noqa: E402

WINDOW_DAYS = 60
CAMPAIGNS = frozenset({"Webinars"})


def _parquet(book: sqlite3.Connection, work: Path) -> None:
    """The book's signals (and an empty usage file) as the tests' sources hold them, written once."""
    signals = work / "signals.parquet"
    if signals.exists():
        return
    work.mkdir(parents=True, exist_ok=True)
    names = list(SIGNAL_COLUMNS.values())
    writer: pq.ParquetWriter | None = None
    cursor = book.execute(_SIGNALS_SQL)
    while rows := cursor.fetchmany(500_000):
        columns = [list(column) for column in zip(*rows, strict=True)]
        columns[-1] = [bool(value) for value in columns[-1]]
        table = pa.table(columns, names=names)
        writer = writer or pq.ParquetWriter(signals, table.schema)
        writer.write_table(table)
    if writer is not None:
        writer.close()
    with duckdb.connect() as connection:
        nothing = ", ".join(f"NULL::VARCHAR AS {name}" for name in USAGE_COLUMNS.values())
        connection.execute(f"COPY (SELECT {nothing} LIMIT 0) TO '{work / 'usage.parquet'}' (FORMAT parquet)")


def _round(label: str, work: Callable[[], object], into: dict[str, list[tuple[float, float]]]) -> None:
    started, cpu = time.perf_counter(), time.process_time()
    work()
    into.setdefault(label, []).append((time.perf_counter() - started, time.process_time() - cpu))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--book", type=Path, default=Path("/work/books/scored-100000.db"))
    parser.add_argument("--work", type=Path, default=HERE / "out" / "events_readers")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--accounts", type=int, default=20)
    args = parser.parse_args()
    connection = sqlite3.connect(f"file:{args.book}?immutable=1", uri=True, check_same_thread=False)
    db = Database(connection)
    _parquet(connection, args.work)
    as_of = date.fromisoformat(connection.execute("SELECT max(as_of) FROM score_runs").fetchone()[0])
    accounts = [
        row[0]
        for row in connection.execute(
            "SELECT id FROM accounts ORDER BY id LIMIT ?",
            [args.accounts],
        )
    ]
    settings = load_settings().events
    settings = settings.model_copy(
        update={
            "source": "duckdb",
            "usage": settings.usage.model_copy(
                update={"table": str(args.work / "usage.parquet"), **USAGE_COLUMNS}
            ),
            "signals": settings.signals.model_copy(
                update={"table": str(args.work / "signals.parquet"), **SIGNAL_COLUMNS}
            ),
        }
    )
    signals = connection.execute("SELECT count(*) FROM signals").fetchone()[0]
    print(f"{signals:,} signals; as of {as_of}; journeys of {len(accounts)} accounts", flush=True)

    def local_journeys() -> None:
        for account_id in accounts:
            journey(db, account_id, ("signal",))

    def source_journeys() -> None:
        for account_id in accounts:
            with events.opened(settings) as source:
                assert source is not None
                source.account_signals([account_id], limit=JOURNEY_LIMIT, skip=SKIPPED_SIGNALS)

    found: dict[str, dict[str, LastEmail] | None] = {}
    laps: dict[str, list[tuple[float, float]]] = {}
    for _ in range(args.runs):
        _round(
            "unopened emails: SQLite",
            lambda: found.__setitem__(
                "sqlite", _unopened_emails(db, as_of, WINDOW_DAYS, ALL_ACCOUNTS, CAMPAIGNS)
            ),
            laps,
        )
        _round(
            "unopened emails: DuckDB",
            lambda: found.__setitem__(
                "duckdb", events.unopened_emails(db, settings, as_of, WINDOW_DAYS, CAMPAIGNS)
            ),
            laps,
        )
        _round("journey signals: SQLite", local_journeys, laps)
        _round("journey signals: DuckDB", source_journeys, laps)
    assert found["sqlite"] == found["duckdb"], "the two engines found different unopened emails"
    print(f"  the same {len(found['sqlite'] or {}):,} unopened emails from both")
    for label, runs in laps.items():
        walls, cpus = [wall for wall, _ in runs], [cpu for _, cpu in runs]
        print(
            f"  {label:<26} wall min {min(walls):6.2f} s, median {statistics.median(walls):6.2f} s; "
            f"cpu min {min(cpus):6.2f} s, median {statistics.median(cpus):6.2f} s"
        )
    print("  load average " + " ".join(f"{load:.2f}" for load in os.getloadavg()))


if __name__ == "__main__":
    main()
