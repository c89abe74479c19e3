"""A book's usage events and signals moved out of its SQLite file into an events source, for the tests that
hold every source to the store's own tables (`tests/test_events_source.py`).

`SOURCES` names each source a test can run a book through: a function that takes the book's events (as
`book_events` reads them) and a folder, puts them in its engine under other names than cockpit's, and gives
the `[events]` settings that read them there. The events are then deleted from the book, so that a score
computed from it can only have come from the source.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import duckdb
import psycopg
import pyarrow as pa

from cockpit.config import EventsSettings, Settings
from tests.postgres import Server

USAGE_COLUMNS = {
    "account": "acct",
    "feature": "feature_key",
    "occurred_at": "event_time",
    "contact": "user_id",
    "count": "n",
}
"""Cockpit's name of each usage column -> its name in the sources the tests make."""
SIGNAL_COLUMNS = {
    "account": "acct",
    "kind": "signal_type",
    "occurred_at": "event_time",
    "value": "score",
    "detail": "subject",
    "ref": "message_ref",
}

_USAGE_SQL = "SELECT account_id, feature_id, occurred_at, contact_id, count FROM usage_events"
_SIGNALS_SQL = (
    "SELECT account_id, kind, occurred_at, value, "
    "coalesce(json_extract(payload, '$.subject'), json_extract(payload, '$.comment')), "
    "coalesce(json_extract(payload, '$.message_id'), nullif(source_id, '')) FROM signals"
)
"""A signal as a source holds it: its payload's subject (or comment) and message id as columns of their own."""


class BookEvents(NamedTuple):
    usage: pa.Table
    signals: pa.Table


def book_events(book: Path, key: Callable[[str], str] = str) -> BookEvents:
    """The book's usage events and signals as Arrow tables with the sources' column names, each account
    named by `key(its id)`."""
    with sqlite3.connect(book) as connection:
        usage = connection.execute(_USAGE_SQL).fetchall()
        signals = connection.execute(_SIGNALS_SQL).fetchall()

    def table(rows: list[Any], names: dict[str, str], types: list[pa.DataType]) -> pa.Table:
        columns = [list(column) for column in zip(*rows, strict=True)] or [[] for _ in names]
        columns[0] = [key(account_id) for account_id in columns[0]]
        return pa.table(
            [pa.array(column, type=kind) for column, kind in zip(columns, types, strict=True)],
            names=list(names.values()),
        )

    text, number = pa.string(), pa.float64()
    return BookEvents(
        table(usage, USAGE_COLUMNS, [text, text, text, text, pa.int64()]),
        table(signals, SIGNAL_COLUMNS, [text, text, text, number, text, text]),
    )


def forget_events(book: Path) -> None:
    """Delete the book's own usage events and signals."""
    with sqlite3.connect(book) as connection:
        connection.execute("DELETE FROM usage_events")
        connection.execute("DELETE FROM signals")
    connection.close()


def _events_settings(settings: Settings, source: str, usage: str, signals: str) -> EventsSettings:
    events = settings.events
    return events.model_copy(
        update={
            "source": source,
            "usage": events.usage.model_copy(update={"table": usage, **USAGE_COLUMNS}),
            "signals": events.signals.model_copy(update={"table": signals, **SIGNAL_COLUMNS}),
        }
    )


def duckdb_files(extension: str) -> Callable[[BookEvents, Path, Settings], EventsSettings]:
    """Parquet or CSV files, written by DuckDB."""

    def put(events: BookEvents, folder: Path, settings: Settings) -> EventsSettings:
        with duckdb.connect() as connection:
            for name, table in (("usage", events.usage), ("signals", events.signals)):
                relation = connection.from_arrow(table)
                path = str(folder / f"{name}.{extension}")
                if extension == "csv":
                    relation.write_csv(path)
                else:
                    relation.write_parquet(path)
        return _events_settings(
            settings, "duckdb", str(folder / f"usage.{extension}"), str(folder / f"signals.{extension}")
        )

    return put


SOURCES: dict[str, Callable[[BookEvents, Path, Settings], EventsSettings]] = {
    "duckdb-parquet": duckdb_files("parquet"),
    "duckdb-csv": duckdb_files("csv"),
}
"""Each source a book's events can be put in: (the events, a folder, the settings) -> `[events]` for it."""


DSN_ENV = "COCKPIT_TEST_EVENTS_DSN"
"""The environment variable that holds the tests' PostgreSQL source's connection string."""


def postgresql_tables(server: Server) -> Callable[[BookEvents, Path, Settings], EventsSettings]:
    """Tables of a schema of their own on the tests' PostgreSQL server (`postgres_server`; the test sets
    DSN_ENV to its DSN): the usage times as timestamptz, as a warehouse keeps them, the signals' as text."""

    def put(events: BookEvents, folder: Path, settings: Settings) -> EventsSettings:
        schema = f"book_{uuid.uuid4().hex[:12]}"
        u, s = USAGE_COLUMNS, SIGNAL_COLUMNS
        with psycopg.connect(server.dsn, autocommit=True) as connection:
            connection.execute(f"CREATE SCHEMA {schema}")
            connection.execute(
                f"""CREATE TABLE {schema}.product_usage ({u["account"]} text, {u["feature"]} text,
                {u["occurred_at"]} timestamptz, {u["contact"]} text, {u["count"]} bigint)"""
            )
            connection.execute(
                f"""CREATE TABLE {schema}.cs_signals ({s["account"]} text, {s["kind"]} text,
                {s["occurred_at"]} text, {s["value"]} double precision, {s["detail"]} text, {s["ref"]} text)"""
            )
            for table, rows in (("product_usage", events.usage), ("cs_signals", events.signals)):
                with connection.cursor().copy(f"COPY {schema}.{table} FROM STDIN") as copy:
                    for row in zip(*(column.to_pylist() for column in rows.columns), strict=True):
                        copy.write_row(row)
        tables = _events_settings(settings, "postgresql", f"{schema}.product_usage", f"{schema}.cs_signals")
        return tables.model_copy(
            update={"postgresql": tables.postgresql.model_copy(update={"dsn_env": DSN_ENV})}
        )

    return put
