"""The PostgreSQL events source against a real server (`postgres_server`): what it says when the DSN, the
table or a mapped column is not there, never showing the connection string."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from cockpit.cli import app
from cockpit.config import EventsSettings, load_settings
from cockpit.events import SourceUnavailable, open_source
from cockpit.services.events import KeptSource, read_source_book
from cockpit.services.scoring import windows
from cockpit.store import Store
from tests.postgres import Server, free_port
from tests.processes import wait_until

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


def test_a_failed_side_question_cancels_the_usage_question_and_closes_both_sessions(
    postgres_server: Server, schema: str, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`read_source_book` with a twin: the signals, asked on the twin, fail at once (a view whose filter
    raises); the usage, asked on the source's own session, would run for minutes (a view that sleeps). The run
    fails with the signals' error, the usage's statement is cancelled (the server logs the cancel) rather than
    waited for, and neither session stays open. Bounded: the server stops the sleep itself after
    `statement_timeout`, and the call runs in a thread the test waits for only so long."""
    name = f"interrupt_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_server.dsn, autocommit=True) as connection:
        connection.execute(f"INSERT INTO {schema}.product_usage VALUES ('acct-1', 'f', now(), 1)")
        connection.execute(
            f"CREATE VIEW {schema}.slow_usage AS SELECT u.*, NULL::text AS contact_id FROM {schema}.product_usage u, "
            f"LATERAL (SELECT pg_sleep(600)) AS sleeping"
        )
        connection.execute(
            f"INSERT INTO {schema}.signals VALUES ('acct-1', 'support_ticket', '2026-11-01', 1, '', '')"
        )
        connection.execute(
            f"CREATE FUNCTION {schema}.refuse() RETURNS boolean LANGUAGE plpgsql VOLATILE "
            "AS $$ BEGIN RAISE EXCEPTION 'refused on purpose'; END $$"
        )
        connection.execute(
            f"CREATE VIEW {schema}.failing_signals AS SELECT * FROM {schema}.signals WHERE {schema}.refuse()"
        )
    monkeypatch.setenv(
        DSN_ENV, f"{postgres_server.dsn}?application_name={name}&options=-c%20statement_timeout%3D300s"
    )
    settings = _settings(f"{schema}.slow_usage", f"{schema}.failing_signals")
    scoring = load_settings()
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            read_source_book(store.db, settings, date(2026, 11, 2), windows(scoring), 90, 90)
        except BaseException as error:
            outcome.append(error)
        else:
            outcome.append(None)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(120)  # far beyond a cancel, far short of the sleep
    if thread.is_alive():
        with psycopg.connect(postgres_server.dsn, autocommit=True) as connection:
            connection.execute(
                "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = %s", (name,)
            )
        thread.join(60)
        pytest.fail("the usage question was waited for, not cancelled, after the side question failed")
    assert len(outcome) == 1 and isinstance(outcome[0], SourceUnavailable), outcome
    assert "refused on purpose" in str(outcome[0])
    with psycopg.connect(postgres_server.dsn, autocommit=True) as connection:
        left = connection.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (name,)
        )
        assert left.fetchone() == (0,)
    log = postgres_server.log.read_text(errors="replace")
    cancelled = log.rsplit("canceling statement due to user request", 1)  # the statement follows its error
    assert len(cancelled) == 2 and "slow_usage" in cancelled[1].split(" ERROR: ")[0]

    # A cancel that reaches the server before the question is lost: the source asks no question once
    # interrupted (the run interrupts again until the usage's question has ended).
    source = open_source(settings)
    assert source is not None
    asked: list[BaseException | None] = []

    def ask() -> None:
        try:
            list(source.usage_groups(date(2026, 11, 2), 90))
        except BaseException as error:
            asked.append(error)
        else:
            asked.append(None)

    try:
        source.interrupt()
        asking = threading.Thread(target=ask, daemon=True)
        asking.start()
        asking.join(120)
        if asking.is_alive():
            source.interrupt()
            asking.join(60)
            pytest.fail("a question asked after an interrupt ran")
    finally:
        source.close()
    assert len(asked) == 1 and isinstance(asked[0], SourceUnavailable), asked
    assert "interrupted" in str(asked[0])


def test_a_kept_source_asks_on_one_session_and_a_close_under_way_waits_for_the_question(
    postgres_server: Server, schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`KeptSource` (an account screen's): questions after the first ask on the session it opened; closed
    while a question is under way, the source is closed as that question ends, and asks nothing after."""
    name = f"kept_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_server.dsn, autocommit=True) as connection:
        connection.execute(
            f"CREATE VIEW {schema}.usage_full AS SELECT *, NULL::text AS contact_id FROM {schema}.product_usage"
        )
    monkeypatch.setenv(DSN_ENV, f"{postgres_server.dsn}?application_name={name}")

    kept = KeptSource(_settings(f"{schema}.usage_full", f"{schema}.signals"))
    for _ in range(3):
        with kept.use() as source:
            assert source.account_signals(["acct-1"], limit=10) == []
    assert postgres_server.sessions(name) == 1
    with kept.use() as source:
        kept.close()  # from the screen, while the worker asks
        assert source.account_signals(["acct-1"], limit=10) == []
        assert postgres_server.sessions(name) == 1
    wait_until(lambda: postgres_server.sessions(name) == 0, "the kept source's close")
    with pytest.raises(SourceUnavailable, match="closed"), kept.use():
        pass
