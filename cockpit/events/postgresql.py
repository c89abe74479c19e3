"""The `postgresql` events source: tables (or views) of a PostgreSQL database, through Ibis's PostgreSQL
backend over psycopg. The connection string is read from the environment variable that `[events.postgresql]
dsn_env` names, never from the config, and is never shown: a person sees the host, port and database."""

from __future__ import annotations

import os
from collections.abc import Iterator
from itertools import islice
from operator import itemgetter
from typing import Any

import ibis
import ibis.expr.types as ir
import psycopg
import sqlglot.expressions as sge
from ibis.backends.postgres import Backend
from ibis.common.exceptions import TableNotFound

from cockpit.config import EventsSettings, Tables
from cockpit.events import SourceUnavailable
from cockpit.events.ibis_source import IbisSource

CONNECT_SECONDS = 10
"""How long a connection may take before the source is said to be unreachable (unless the DSN says)."""
STREAM_ROWS = 10_000
"""Rows the server sends in one chunk, and counted at once."""


class PostgresSource(IbisSource):
    """The answers read as the server computes them: each question is Ibis's SQL, run as a plain query whose
    rows stream back in chunks and are taken as Python values straight from the wire. Ibis's own reading
    (`to_pyarrow`) declares a server-side cursor, which the server computes only when asked for the next
    rows and never runs in parallel, and makes Arrow of the rows psycopg has already made Python values."""

    _interrupted = False

    def _fetch(self, expression: ir.Table) -> Iterator[tuple[Any, ...]]:
        if self._interrupted:  # a cancel before the question was asked
            raise SourceUnavailable(f"{self.describe()}: the question was interrupted")
        schema = expression.schema()
        texts = [index for index, kind in enumerate(schema.types) if kind.is_string()]
        numbers = len(schema) - len(texts)
        try:
            with self._backend.con.cursor() as cursor:
                rows = cursor.stream(_typed(self._backend, expression), size=STREAM_ROWS)
                while chunk := list(islice(rows, STREAM_ROWS)):
                    self.traffic.rows += len(chunk)
                    self.traffic.bytes += numbers * 8 * len(chunk) + sum(
                        sum(map(len, filter(None, map(itemgetter(index), chunk)))) for index in texts
                    )
                    yield from chunk
        except self._errors as error:
            raise self._refused(error) from None

    def twin(self) -> PostgresSource | None:
        """A session of its own: the server runs its question beside this one's, on another core. None when
        the server takes no second connection (its slots, or the user's, are all taken): the questions are
        then asked one after another, as a run did before there were two."""
        try:
            return connect(self._settings)
        except SourceUnavailable:
            return None

    def interrupt(self) -> None:
        """The question being computed is cancelled, and one not asked yet is not asked. A cancel that reaches
        the server before the question it means is lost: the caller repeats it until that question ends."""
        self._interrupted = True
        self._backend.con.cancel_safe()


def _typed(backend: Backend, expression: ir.Table) -> str:
    """The SQL of `expression`, each integer it answers cast to bigint: a sum of integers is PostgreSQL's
    numeric (psycopg's Decimal), which Ibis counts an integer and leaves uncast."""
    query = backend.compiler.to_sqlglot(expression)
    assert isinstance(query, sge.Select)
    integers = {name for name, kind in expression.schema().items() if kind.is_integer()}
    query.set(
        "expressions",
        [
            sge.cast(column.unalias(), "BIGINT").as_(column.alias_or_name)
            if column.alias_or_name in integers
            else column
            for column in query.expressions
        ],
    )
    return query.sql(dialect=backend.dialect)


def _table(backend: Backend, what: str, tables: Tables) -> ir.Table:
    """The table `[events.<what>] table` names: `name` or `schema.name` (the search path finds a bare name)."""
    if not isinstance(tables, str):
        raise SourceUnavailable(
            f"[events.{what}] table: a PostgreSQL source reads one table or view, not a list.",
            hint='Give its name, schema-qualified if needed ("analytics.product_usage").',
        )
    schema, _, name = tables.rpartition(".")
    try:
        return backend.table(name, database=schema or None)
    except TableNotFound:
        raise SourceUnavailable(
            f"[events.{what}] table: the PostgreSQL database has no table or view {tables!r}.",
            hint="Name a table or view the connection's user can read, schema-qualified if needed.",
        ) from None


def connect(settings: EventsSettings) -> PostgresSource:
    variable = settings.postgresql.dsn_env
    dsn = os.environ.get(variable, "")
    if not dsn.strip():
        raise SourceUnavailable(
            f"events.source is 'postgresql', but the environment variable {variable} that holds its "
            "connection string is not set.",
            hint=f"export {variable}='postgresql://user@host:5432/database' ([events.postgresql] dsn_env names it)",
        )
    try:
        timeout = (
            {}
            if "connect_timeout" in psycopg.conninfo.conninfo_to_dict(dsn)
            else {"connect_timeout": CONNECT_SECONDS}
        )
        conninfo = psycopg.conninfo.make_conninfo(dsn, **timeout)
    except psycopg.ProgrammingError:
        raise SourceUnavailable(
            f"the environment variable {variable} does not hold a PostgreSQL connection string.",
            hint="A libpq string (host=... dbname=...) or a URL (postgresql://user@host:5432/database).",
        ) from None
    try:
        connection = psycopg.connect(conninfo, autocommit=True)
    except psycopg.Error as error:
        raise SourceUnavailable(
            f"cannot connect to the PostgreSQL events source ({variable}): {str(error).strip()}"
        ) from None
    info = connection.info
    where = f"{info.host}:{info.port}/{info.dbname}"
    try:
        backend = ibis.postgres.from_connection(connection)  # its sessions run in UTC (Ibis sets it)
        usage = _table(backend, "usage", settings.usage.table)
        signals = _table(backend, "signals", settings.signals.table)
    except BaseException:
        connection.close()
        raise
    described = f"{where} (usage {settings.usage.table}, signals {settings.signals.table})"
    return PostgresSource("postgresql", backend, usage, signals, settings, described, (psycopg.Error,))
