"""The `duckdb` events source: Parquet or CSV files read in place by an in-process DuckDB (through Ibis)."""

from __future__ import annotations

from glob import glob
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

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


class DuckDbSource(IbisSource):
    """An in-process DuckDB, which spills what its memory limit does not hold to a folder of its own."""

    def __init__(self, spill: TemporaryDirectory[str], *args: Any) -> None:
        super().__init__(*args)
        self._spill = spill

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._spill.cleanup()


def connect(settings: EventsSettings) -> IbisSource:
    # Without its ICU extension (not in the wheel) DuckDB reads every time zone's timestamp in UTC.
    # The scoring's questions order what they need themselves: with no insertion order to keep, DuckDB
    # streams and spills with less memory. Spilled data goes to the system's temporary folder, not to a
    # `.tmp` in the current one (DuckDB's default for an in-memory database).
    spill = TemporaryDirectory(prefix="cockpit-duckdb-")
    config: dict[str, str | int | bool] = {"preserve_insertion_order": False, "temp_directory": spill.name}
    if settings.duckdb.memory_limit:
        config["memory_limit"] = settings.duckdb.memory_limit
    if settings.duckdb.threads:
        config["threads"] = settings.duckdb.threads
    try:
        backend = ibis.duckdb.connect(**config)
    except BaseException:
        spill.cleanup()
        raise
    try:
        usage = _read(backend, "usage", settings.usage.table)
        signals = _read(backend, "signals", settings.signals.table)
    except BaseException:
        backend.disconnect()
        spill.cleanup()
        raise
    where = f"usage {', '.join(_files(settings.usage.table))}; signals {', '.join(_files(settings.signals.table))}"
    return DuckDbSource(spill, "duckdb", backend, usage, signals, settings, where, (duckdb.Error,))
