"""The PostgreSQL events source against a real server (`postgres_server`): what it says when the DSN, the
table or a mapped column is not there, never showing the connection string."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from cockpit.cli import app
from cockpit.config import EventsSettings, load_settings
from cockpit.events import SourceUnavailable, open_source
from tests.postgres import Server, free_port

DSN_ENV = "COCKPIT_TEST_EVENTS_DSN"


@pytest.fixture
def schema(postgres_server: Server) -> Iterator[str]:
    """A schema of its own on the session's server, with a usage table that lacks the contact column and a
    signals table as cockpit names it."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server.dsn, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {name}")
        connection.execute(
            f"CREATE TABLE {name}.product_usage (account_id text, feature_id text, occurred_at timestamptz, n int)"
        )
        connection.execute(
            f"CREATE TABLE {name}.signals (account_id text, kind text, occurred_at text, value float8, "
            "detail text, ref text)"
        )
    yield name
    with psycopg.connect(postgres_server.dsn, autocommit=True) as connection:
        connection.execute(f"DROP SCHEMA {name} CASCADE")


def _settings(usage: str, signals: str) -> EventsSettings:
    events = load_settings().events
    return events.model_copy(
        update={
            "source": "postgresql",
            "postgresql": events.postgresql.model_copy(update={"dsn_env": DSN_ENV}),
            "usage": events.usage.model_copy(update={"table": usage, "count": "n"}),
            "signals": events.signals.model_copy(update={"table": signals}),
        }
    )


def test_a_missing_table_or_column_is_named(
    postgres_server: Server, schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DSN_ENV, postgres_server.dsn)
    with pytest.raises(SourceUnavailable, match=f"no table or view '{schema}.usage_events'"):
        open_source(_settings(f"{schema}.usage_events", f"{schema}.signals"))
    source = open_source(_settings(f"{schema}.product_usage", f"{schema}.signals"))
    assert source is not None
    try:
        assert source.describe() == (
            f"postgresql: 127.0.0.1:{postgres_server.port}/cockpit "
            f"(usage {schema}.product_usage, signals {schema}.signals)"
        )
        (problem,) = source.problems()
        assert "[events.usage]" in problem and "contact = 'contact_id'" in problem
        assert "(its columns: account_id, feature_id, occurred_at, n)" in problem
    finally:
        source.close()


def test_an_unset_or_unreachable_dsn_says_so_without_showing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _settings("usage_events", "signals")
    monkeypatch.delenv(DSN_ENV, raising=False)
    with pytest.raises(SourceUnavailable, match=f"environment variable {DSN_ENV} .* is not set"):
        open_source(settings)
    monkeypatch.setenv(DSN_ENV, "not a connection string")
    with pytest.raises(SourceUnavailable, match="does not hold a PostgreSQL connection string"):
        open_source(settings)
    monkeypatch.setenv(DSN_ENV, f"postgresql://cockpit:s3cr3t-word@127.0.0.1:{free_port()}/events")
    with pytest.raises(SourceUnavailable, match="cannot connect to the PostgreSQL events source") as refused:
        open_source(settings)
    assert "s3cr3t-word" not in str(refused.value) + str(refused.value.hint)


def test_doctor_checks_the_source_and_names_a_missing_column(
    postgres_server: Server, schema: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, config = tmp_path / "book.db", tmp_path / "config.toml"
    runner = CliRunner()
    assert runner.invoke(app, ["init", "--db", str(db)]).exit_code == 0
    monkeypatch.setenv(DSN_ENV, postgres_server.dsn)

    def doctor(contact: str) -> tuple[int, str]:
        config.write_text(
            f'[events]\nsource = "postgresql"\n[events.postgresql]\ndsn_env = "{DSN_ENV}"\n'
            f'[events.usage]\ntable = "{schema}.product_usage"\ncontact = "{contact}"\ncount = "n"\n'
            f'[events.signals]\ntable = "{schema}.signals"\n'
        )
        result = runner.invoke(app, ["doctor", "--db", str(db), "--config", str(config)])
        return result.exit_code, result.stdout

    code, out = doctor("contact_id")
    assert code == 1, out
    assert "FAIL  events" in out and "no column contact = 'contact_id'" in out
    code, out = doctor("account_id")  # any column that is there
    assert code == 0, out
    # Its signals name no recipient of an email: a warning, not a failure.
    assert f"warn  events       postgresql: 127.0.0.1:{postgres_server.port}/cockpit" in out


def test_a_second_session_refused_asks_on_one(
    postgres_server: Server, schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A user the server lets open one connection only: the source has no twin (a run asks its questions one
    after another on the one session) rather than failing."""
    role = f"r_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server.dsn, autocommit=True) as connection:
        connection.execute(f"CREATE ROLE {role} LOGIN CONNECTION LIMIT 1")
        connection.execute(f"GRANT USAGE ON SCHEMA {schema} TO {role}")
        connection.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {role}")
    monkeypatch.setenv(DSN_ENV, f"postgresql://{role}@127.0.0.1:{postgres_server.port}/cockpit")
    settings = _settings(f"{schema}.product_usage", f"{schema}.signals")
    source = open_source(settings)
    assert source is not None
    try:
        assert source.twin() is None
    finally:
        source.close()
    monkeypatch.setenv(DSN_ENV, postgres_server.dsn)  # the superuser: a second session
    source = open_source(settings)
    assert source is not None
    try:
        twin = source.twin()
        assert twin is not None
        twin.close()
    finally:
        source.close()
    with psycopg.connect(postgres_server.dsn, autocommit=True) as connection:
        connection.execute(f"DROP OWNED BY {role}")
        connection.execute(f"DROP ROLE {role}")
