"""A book's usage events and signals moved out of its SQLite file into an events source, for the tests that
hold every source to the store's own tables (`tests/test_events_source.py`).

`SOURCES` names each source a test can run a book through: a function (`PutEvents`) that takes the book's
events (as `book_events` reads them), puts them in its engine under other names than cockpit's, and gives the
`[events]` settings that read them there. The events are then deleted from the book, so that a score
computed from it can only have come from the source.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import duckdb
import psycopg
import pyarrow as pa
import pytest

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
    "contact": "recipient",
    "campaign": "campaign_name",
    "bulk": "is_bulk",
}

_USAGE_SQL = "SELECT account_id, feature_id, occurred_at, contact_id, count FROM usage_events"
_SIGNALS_SQL = (
    "SELECT account_id, kind, occurred_at, value, "
    "coalesce(json_extract(payload, '$.subject'), json_extract(payload, '$.comment')), "
    "coalesce(json_extract(payload, '$.message_id'), nullif(source_id, '')), contact_id, "
    "json_extract(payload, '$.campaign'), json_extract(payload, '$.bulk') IS 1 FROM signals"
)
"""A signal as a source holds it: its payload's subject (or comment), message id, campaign and bulk flag as
columns of their own."""


class BookEvents(NamedTuple):
    usage: pa.Table
    signals: pa.Table


PutEvents = Callable[[BookEvents, Path, Settings, pytest.FixtureRequest], EventsSettings]
"""Puts a book's events in a source: (the events, a folder of the test's own, the settings, the test's request,
through which a source may ask for fixtures such as a server or `monkeypatch`) -> the `[events]` that read
them there."""


def book_events(book: Path, key: Callable[[str], str] = str) -> BookEvents:
    """The book's usage events and signals as Arrow tables with the sources' column names, each account
    named by `key(its id)`."""
    with sqlite3.connect(book) as connection:
        usage = connection.execute(_USAGE_SQL).fetchall()
        signals = connection.execute(_SIGNALS_SQL).fetchall()

    def table(rows: list[Any], names: dict[str, str], types: list[pa.DataType]) -> pa.Table:
        columns = [list(column) for column in zip(*rows, strict=True)] or [[] for _ in names]
        columns[0] = [key(account_id) for account_id in columns[0]]
        columns = [
            [bool(value) for value in column] if kind == pa.bool_() else column
            for column, kind in zip(columns, types, strict=True)
        ]
        return pa.table(
            [pa.array(column, type=kind) for column, kind in zip(columns, types, strict=True)],
            names=list(names.values()),
        )

    text, number = pa.string(), pa.float64()
    return BookEvents(
        table(usage, USAGE_COLUMNS, [text, text, text, text, pa.int64()]),
        table(signals, SIGNAL_COLUMNS, [text, text, text, number, text, text, text, text, pa.bool_()]),
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


_WAREHOUSE_TYPED = {
    "event_time": "CAST({column} AS TIMESTAMPTZ) AS {column}",
    "user_id": "nullif({column}, '') AS {column}",
}


def duckdb_files(extension: str, *, instants: bool = False) -> PutEvents:
    """Parquet or CSV files, written by DuckDB; with `instants`, as a warehouse types them: the times as
    Parquet's UTC timestamps (as Spark writes them, DuckDB's TIMESTAMP WITH TIME ZONE), not text, and no
    contact NULL rather than ''."""

    def put(
        events: BookEvents, folder: Path, settings: Settings, _request: pytest.FixtureRequest
    ) -> EventsSettings:
        with duckdb.connect() as connection:
            for name, table in (("usage", events.usage), ("signals", events.signals)):
                relation = connection.from_arrow(table)
                if instants:
                    relation = relation.project(
                        ", ".join(
                            _WAREHOUSE_TYPED.get(column, column).format(column=column)
                            for column in table.column_names
                        )
                    )
                path = str(folder / f"{name}.{extension}")
                if extension == "csv":
                    relation.write_csv(path)
                else:
                    relation.write_parquet(path)
        return _events_settings(
            settings, "duckdb", str(folder / f"usage.{extension}"), str(folder / f"signals.{extension}")
        )

    return put


DSN_ENV = "COCKPIT_TEST_EVENTS_DSN"
"""The environment variable that holds the tests' PostgreSQL source's connection string."""


def postgresql_tables(
    events: BookEvents, folder: Path, settings: Settings, request: pytest.FixtureRequest
) -> EventsSettings:
    """Tables of a schema of their own on the tests' PostgreSQL server (`postgres_server`, its DSN in DSN_ENV):
    the usage times as timestamptz, as a warehouse keeps them, the signals' as text."""
    server: Server = request.getfixturevalue("postgres_server")
    request.getfixturevalue("monkeypatch").setenv(DSN_ENV, server.dsn)
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
            {s["occurred_at"]} text, {s["value"]} double precision, {s["detail"]} text, {s["ref"]} text,
            {s["contact"]} text, {s["campaign"]} text, {s["bulk"]} boolean)"""
        )
        for table, rows in (("product_usage", events.usage), ("cs_signals", events.signals)):
            with connection.cursor().copy(f"COPY {schema}.{table} FROM STDIN") as copy:
                for row in zip(*(column.to_pylist() for column in rows.columns), strict=True):
                    copy.write_row(row)
    tables = _events_settings(settings, "postgresql", f"{schema}.product_usage", f"{schema}.cs_signals")
    return tables.model_copy(update={"postgresql": tables.postgresql.model_copy(update={"dsn_env": DSN_ENV})})


SOURCES: dict[str, PutEvents] = {
    "duckdb-parquet": duckdb_files("parquet"),
    "duckdb-csv": duckdb_files("csv"),
    "duckdb-timestamps": duckdb_files("parquet", instants=True),
    "postgresql": postgresql_tables,
}
"""Each source a book's events can be put in, by name."""
ENGINES = ("duckdb-parquet", "postgresql")
"""One source of each engine, for the heavier tests (the churn fit, journeys)."""


def events_toml(events: EventsSettings) -> str:
    """A user config file's `[events]` tables that give `events`."""
    lines = [f'[events]\nsource = "{events.source}"\naccount_key = "{events.account_key}"\n']
    lines.append(f'alias_system = "{events.alias_system}"\n')
    for table in ("usage", "signals"):
        lines.append(f"[events.{table}]\n")
        for key, value in getattr(events, table).model_dump().items():
            lines.append(f"{key} = {json.dumps(value)}\n")
    return "".join(lines)
