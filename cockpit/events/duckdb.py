"""The `duckdb` events source: Parquet or CSV files read in place by an in-process DuckDB (through Ibis)."""

from __future__ import annotations

from glob import glob
from pathlib import Path

import duckdb
import ibis
import ibis.expr.types as ir
from ibis.backends.duckdb import Backend

from cockpit.config import EventsSettings, Tables
from cockpit.events import SourceUnavailable
from cockpit.events.ibis_source import IbisSource


def _files(tables: Tables) -> list[str]:
    """The files a table setting names: paths or globs, `~` expanded."""
    return [str(Path(entry).expanduser()) for entry in ([tables] if isinstance(tables, str) else tables)]


def _read(backend: Backend, what: str, tables: Tables) -> ir.Table:
    files = _files(tables)
    unmatched = [entry for entry in files if not glob(entry)]
    if unmatched or not files:
        raise SourceUnavailable(
            f"[events.{what}] table: no file matches {', '.join(unmatched) or 'an empty list'}.",
            hint="Give the path or glob of the Parquet or CSV files (absolute, or relative to the current folder).",
        )
    try:
        if all(entry.lower().endswith((".csv", ".csv.gz")) for entry in files):
            # Every column as text: ids keep their leading zeros, times their text; numbers are cast after.
            return backend.read_csv(files, all_varchar=True)
        return backend.read_parquet(files)
    except duckdb.Error as error:
        raise SourceUnavailable(
            f"[events.{what}] table: DuckDB cannot read {', '.join(files)}: {str(error).splitlines()[0]}",
            hint="Give Parquet files (*.parquet) or CSV files (*.csv) with a header row.",
        ) from None


def connect(settings: EventsSettings) -> IbisSource:
    # Without its ICU extension (not in the wheel) DuckDB reads every time zone's timestamp in UTC.
    config = {}
    if settings.duckdb.memory_limit:
        config["memory_limit"] = settings.duckdb.memory_limit
    backend = ibis.duckdb.connect(**config)
    try:
        usage = _read(backend, "usage", settings.usage.table)
        signals = _read(backend, "signals", settings.signals.table)
    except BaseException:
        backend.disconnect()
        raise
    where = f"usage {', '.join(_files(settings.usage.table))}; signals {', '.join(_files(settings.signals.table))}"
    return IbisSource("duckdb", backend, usage, signals, settings, where, (duckdb.Error,))
