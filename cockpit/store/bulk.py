"""Bulk loading: many rows into empty tables at once (the demo book and its seed files)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cache
from itertools import chain
from typing import Final

from cockpit.store.sqlite import Database

BULK_CACHE_KIB: Final = 256 * 1024

Row = tuple[object, ...]


def insert_rows(
    conn: sqlite3.Connection,
    columns_of: Mapping[str, Sequence[str]],
    batch: Mapping[str, Sequence[Row]],
    counts: dict[str, int],
) -> None:
    """Insert a batch, tables in `columns_of` order so that parents land first; rows are tuples in the order
    of their table's columns there.

    Many rows go in each INSERT (a multi-row VALUES of at most 999 parameters, the oldest SQLite's limit):
    SQLite's work per statement run (binding, reset, setting up the CHECK constraints' IN lists) is then
    paid per hundred rows instead of per row, which cut the insert time by about 40% when measured.
    """
    for table, columns in columns_of.items():
        rows = batch.get(table)
        if not rows:
            continue
        per_statement = 999 // len(columns)
        whole = len(rows) - len(rows) % per_statement
        if whole:
            conn.executemany(
                _insert_sql(table, tuple(columns), per_statement),
                (
                    tuple(chain.from_iterable(rows[i : i + per_statement]))
                    for i in range(0, whole, per_statement)
                ),
            )
        if whole < len(rows):
            conn.execute(
                _insert_sql(table, tuple(columns), len(rows) - whole),
                tuple(chain.from_iterable(rows[whole:])),
            )
        counts[table] = counts.get(table, 0) + len(rows)


def insert_cells(
    conn: sqlite3.Connection, table: str, columns: Sequence[str], cells: Sequence[object]
) -> None:
    """Insert rows given as one sequence of their values, row after row, many rows an INSERT as
    `insert_rows` does, without a tuple per row."""
    width = len(columns)
    per_statement = (999 // width) * width
    whole = len(cells) - len(cells) % per_statement
    if whole:
        sql = _insert_sql(table, tuple(columns), per_statement // width)
        conn.executemany(sql, (cells[i : i + per_statement] for i in range(0, whole, per_statement)))
    if whole < len(cells):
        conn.execute(_insert_sql(table, tuple(columns), (len(cells) - whole) // width), cells[whole:])


@cache
def _insert_sql(table: str, columns: tuple[str, ...], rows: int) -> str:
    values = ", ".join(["(" + ", ".join("?" * len(columns)) + ")"] * rows)
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES {values}"


def tables_with_rows(db: Database, tables: Sequence[str]) -> list[str]:
    """Those of `tables` that hold any row."""
    return [table for table in tables if db.execute(f"SELECT EXISTS (SELECT 1 FROM [{table}])").fetchone()[0]]


def table_columns(db: Database, table: str) -> dict[str, tuple[str, bool]]:
    """Each column of `table`: its declared type (upper case) and whether it may be NULL."""
    return {
        str(info[1]): (str(info[2]).upper(), not info[3])
        for info in db.execute(f"PRAGMA table_info([{table}])").fetchall()
    }


@contextmanager
def bulk_cache(conn: sqlite3.Connection) -> Iterator[None]:
    """A bigger page cache while a bulk load runs, so that the indexes filled in random order (signals by
    kind, interactions by sync key, contacts by email) stay in memory instead of spilling to the WAL."""
    (previous,) = conn.execute("PRAGMA cache_size").fetchone()
    conn.execute(f"PRAGMA cache_size = -{BULK_CACHE_KIB}")
    try:
        yield
    finally:
        conn.execute(f"PRAGMA cache_size = {int(previous)}")
