"""Every events source gives the same scores as the store's own tables: the demo book scored from its SQLite
tables, then from each source holding the same events (and the book's own deleted), every score of every
account compared."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from typer.testing import CliRunner

from cockpit.cli import app
from cockpit.clock import PIN_VARIABLE
from cockpit.config import EventsSettings, Settings, load_settings
from cockpit.demo import SEED_ANCHOR
from cockpit.events import ADAPTERS
from cockpit.services.churn import fit_churn
from cockpit.services.events import latest_cancel_click
from cockpit.services.journey import account_journey
from cockpit.services.journeys import read_timelines
from cockpit.services.outreach import plan
from cockpit.services.scoring import run_scoring
from cockpit.store import open_store
from cockpit.store.journey import JourneyEvent
from cockpit.store.scoring import pack_usage
from tests.clocks import at
from tests.events_sources import (
    DSN_ENV,
    ENGINES,
    SOURCES,
    BookEvents,
    book_events,
    events_toml,
    forget_events,
)
from tests.learned_books import build_book
from tests.postgres import free_port
from tests.tuning import tune

runner = CliRunner()


def _scores(book: Path, settings: Settings) -> list[tuple[Any, ...]]:
    """Score the book as of the seeds' anchor day; its scores, by account (the run's id left out)."""
    store = open_store(book)
    try:
        summary = run_scoring(store, settings, SEED_ANCHOR, clock=at(SEED_ANCHOR))
    finally:
        store.close()
    with sqlite3.connect(book) as connection:
        rows = connection.execute(
            "SELECT * FROM scores WHERE run_id = ? ORDER BY account_id", [summary.run_id]
        ).fetchall()
    connection.close()
    return [row[1:] for row in rows]


@pytest.fixture(scope="module")
def scored_book(
    seeds_book: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, list[tuple[Any, ...]]]:
    """The seeds book scored from its own tables, and its scores."""
    book = tmp_path_factory.mktemp("local") / "book.db"
    shutil.copy(seeds_book, book)
    return book, _scores(book, load_settings())


@pytest.fixture(scope="module")
def local_scores(scored_book: tuple[Path, list[tuple[Any, ...]]]) -> list[tuple[Any, ...]]:
    return scored_book[1]


def _with_events(settings: Settings, events: EventsSettings) -> Settings:
    return settings.model_copy(update={"events": events})


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_every_score_is_the_same_from_every_source(
    source: str,
    seeds_book: Path,
    local_scores: list[tuple[Any, ...]],
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    book = tmp_path / "book.db"
    shutil.copy(seeds_book, book)
    settings = load_settings()
    settings = _with_events(settings, SOURCES[source](book_events(book), tmp_path, settings, request))
    forget_events(book)
    scores = _scores(book, settings)
    assert len(scores) == len(local_scores) > 100
    for mine, theirs in zip(scores, local_scores, strict=True):
        assert mine == theirs


class Readers(NamedTuple):
    """What the readers of one account's signals and the outreach plan make of a book."""

    journeys: dict[str, list[JourneyEvent]]
    cancel_clicks: dict[str, str | None]
    plan: dict[str, Any]
    """The dry run's report, but its timings."""


def _readers(book: Path, settings: Settings, accounts: Sequence[str]) -> Readers:
    day = SEED_ANCHOR
    store = open_store(book)
    try:
        journeys = {}
        for account_id in accounts:
            shown: list[list[JourneyEvent]] = []
            journey = account_journey(store, settings, account_id, first=shown.append)
            assert journey.unavailable is None
            # From a source, the book's own events are shown first, before the source is asked.
            own = [event for event in journey.events if event.kind != "signal"]
            assert shown == ([] if settings.events.source == "local" else [own])
            journeys[account_id] = journey.events
        since = day - timedelta(days=settings.churn.horizon_days)
        clicks = {
            account_id: latest_cancel_click(store.db, settings.events, account_id, since, day)
            for account_id in accounts
        }
        report = plan(store, settings, as_of=day, clock=at(day), dry_run=True).to_json()
    finally:
        store.close()
    return Readers(journeys, clicks, {k: v for k, v in report.items() if k not in ("seconds", "phases")})


@pytest.fixture(scope="module")
def local_readers(scored_book: tuple[Path, list[tuple[Any, ...]]]) -> tuple[list[str], Readers]:
    """Some accounts (those with the most signals, the latest to click cancel, one with no signal) and what
    the readers make of them, and the plan of the scored book, from its own tables."""
    book = scored_book[0]
    with sqlite3.connect(book) as connection:
        busiest = connection.execute(
            "SELECT account_id FROM signals WHERE kind != 'login' GROUP BY account_id "
            "ORDER BY count(*) DESC, account_id LIMIT 3"
        ).fetchall()
        clicked = connection.execute(
            "SELECT account_id FROM signals WHERE kind = 'cancel_click' GROUP BY account_id "
            "ORDER BY max(occurred_at) DESC LIMIT 2"
        ).fetchall()
        quiet = connection.execute(
            "SELECT id FROM accounts WHERE id NOT IN (SELECT account_id FROM signals) ORDER BY id LIMIT 1"
        ).fetchall()
    connection.close()
    accounts = sorted({account_id for (account_id,) in [*busiest, *clicked, *quiet]})
    readers = _readers(book, load_settings(), accounts)
    assert sum(len(events) for events in readers.journeys.values()) > 200
    assert sum(click is not None for click in readers.cancel_clicks.values()) == 2
    assert any(draft["playbook"] == "unopened-follow-up" for draft in readers.plan["queued"])
    return accounts, readers


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_one_accounts_signals_and_the_plan_are_the_same_from_every_source(
    source: str,
    scored_book: tuple[Path, list[tuple[Any, ...]]],
    local_readers: tuple[list[str], Readers],
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    """An account's journey, its latest cancel click (`clv show`) and the outreach plan's unopened emails,
    read from a source, are those of the book's own tables (the plan of the scored book, whose events are
    then gone: its unopened emails can only come from the source)."""
    accounts, expected = local_readers
    book = tmp_path / "book.db"
    shutil.copy(scored_book[0], book)
    settings = load_settings()
    settings = _with_events(settings, SOURCES[source](book_events(book), tmp_path, settings, request))
    forget_events(book)
    found = _readers(book, settings, accounts)
    assert found.journeys == expected.journeys
    assert found.cancel_clicks == expected.cancel_clicks
    assert found.plan == expected.plan


def test_the_book_without_its_events_scores_otherwise(
    seeds_book: Path, local_scores: list[tuple[Any, ...]], tmp_path: Path
) -> None:
    """What the sources' scores are held to: without the events, the same book scores otherwise."""
    book = tmp_path / "book.db"
    shutil.copy(seeds_book, book)
    forget_events(book)
    scores = _scores(book, load_settings())
    differ = sum(mine != theirs for mine, theirs in zip(scores, local_scores, strict=True))
    assert differ > len(scores) // 2


def test_two_keys_naming_one_account_make_one_usage() -> None:
    """Two groups of one account and feature (two keys of the source mapped to it) add their uses and widen
    their days; the larger distinct days and users stand."""
    packed = pack_usage(
        [
            ("a", "f1", 2, 1, "2025-12-01", "2026-01-05", 3, 1),
            ("a", "f2", 1, 0, "2026-01-01", "2026-01-01", 0, 0),
            ("a", "f2", 3, 0, "2025-11-01", "2026-01-07", 2, 4),
            ("b", "f1", 1, 1, "2026-01-02", "2026-01-02", 1, 0),
        ]
    )
    assert packed == {
        "a": [5, 5, "2026-01-07", {"f1": [2, 1, "2025-12-01", "2026-01-05"], "f2": [3, 0, "2025-11-01", "2026-01-07"]}],
        "b": [1, 0, "2026-01-02", {"f1": [1, 1, "2026-01-02", "2026-01-02"]}],
    }  # fmt: skip


CHURN_ANCHOR = date(2026, 11, 1)
TWELVE = tune("churn.learned", max_snapshots=12)


@pytest.fixture(scope="module")
def churn_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A book whose churn follows a known rule (`tests/learned_books.py`), small: fitted from every source."""
    path = tmp_path_factory.mktemp("churn") / "book.db"
    store = open_store(path, create=True)
    try:
        build_book(store, accounts=500, anchor=CHURN_ANCHOR)
    finally:
        store.close()
    return path


def _fit(book: Path, settings: Settings) -> tuple[Any, ...]:
    store = open_store(book)
    try:
        fit = fit_churn(store, settings, CHURN_ANCHOR, clock=at(CHURN_ANCHOR))
    finally:
        store.close()
    return fit.run.snapshots, fit.run.accounts, fit.run.churned, fit.run.model, fit.run.metrics


@pytest.mark.slow  # a fit, twice, on a book of 500 accounts
@pytest.mark.parametrize("adoption_days", [30, 45])
@pytest.mark.parametrize("engine", ENGINES)
def test_the_churn_fit_is_the_same_from_a_source(
    engine: str, churn_book: Path, tmp_path: Path, adoption_days: int, request: pytest.FixtureRequest
) -> None:
    """The model and its measures, fitted on snapshots whose usage an engine summed in buckets (with an
    adoption window that spans buckets too: 45 days)."""
    settings = tune("adoption", base=TWELVE, window_days=adoption_days)
    local = tmp_path / "local.db"
    shutil.copy(churn_book, local)
    book = tmp_path / "book.db"
    shutil.copy(churn_book, book)
    folder = tmp_path / "events"
    folder.mkdir()
    source = _with_events(settings, SOURCES[engine](book_events(book), folder, settings, request))
    forget_events(book)
    expected = _fit(local, settings)
    assert expected[0] == 12
    assert _fit(book, source) == expected


@pytest.mark.parametrize("engine", ENGINES)
def test_journeys_read_the_same_timelines_from_a_source(
    engine: str, seeds_book: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Every account's timeline of events and use, bit for bit, as journeys mine them."""
    settings = load_settings()
    local = open_store(seeds_book)
    try:
        expected = read_timelines(local, settings, SEED_ANCHOR)
    finally:
        local.close()
    book = tmp_path / "book.db"
    shutil.copy(seeds_book, book)
    source = _with_events(settings, SOURCES[engine](book_events(book), tmp_path, settings, request))
    forget_events(book)
    store = open_store(book)
    try:
        found = read_timelines(store, source, SEED_ANCHOR)
        without = read_timelines(store, settings, SEED_ANCHOR)
    finally:
        store.close()
    assert found.account_ids == expected.account_ids
    for mined in ("timelines", "now"):
        assert np.array_equal(getattr(found, mined).account, getattr(expected, mined).account)
        assert np.array_equal(getattr(found, mined).bits, getattr(expected, mined).bits)
        assert not np.array_equal(getattr(without, mined).bits, getattr(expected, mined).bits)


def _doctor(book: Path, config: Path) -> Any:
    return runner.invoke(app, ["doctor", "--db", str(book), "--config", str(config)])


def test_doctor_checks_the_source_and_names_what_is_missing(
    seeds_book: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    book = tmp_path / "book.db"
    shutil.copy(seeds_book, book)
    settings = load_settings()
    events = SOURCES["duckdb-parquet"](book_events(book), tmp_path, settings, request)
    config = tmp_path / "config.toml"
    config.write_text(events_toml(events))
    healthy = _doctor(book, config)
    assert healthy.exit_code == 0, healthy.output
    assert f"ok    events       duckdb: usage {tmp_path / 'usage.parquet'}" in healthy.stdout

    config.write_text(events_toml(events).replace('contact = "recipient"', 'contact = ""'))
    unaddressed = _doctor(book, config)
    assert unaddressed.exit_code == 0, unaddressed.output
    assert "warn  events" in unaddressed.stdout
    assert (
        "[events.signals] contact is empty: an unopened email's follow-up has no recipient"
        in unaddressed.stdout
    )

    config.write_text(events_toml(events).replace('contact = "user_id"', 'contact = "visitor"'))
    missing = _doctor(book, config)
    assert missing.exit_code == 1
    assert "FAIL  events" in missing.stdout
    assert "[events.usage]: the source's usage table has no column contact = 'visitor'" in missing.stdout
    assert "user_id" in missing.stdout  # the columns it has
    assert "fix: Name the source's columns in [events.usage] and [events.signals]." in missing.stdout

    config.write_text(events_toml(events).replace('bulk = "is_bulk"', 'bulk = "score"'))
    mistyped = _doctor(book, config)
    assert mistyped.exit_code == 1
    assert "[events.signals] bulk = 'score' is float64" in mistyped.stdout
    assert "it must be true/false (or 1/0)" in mistyped.stdout
    assert "Traceback" not in mistyped.output

    config.write_text(events_toml(events).replace("signals.parquet", "nowhere-*.parquet"))
    unmatched = _doctor(book, config)
    assert unmatched.exit_code == 1
    assert "[events.signals] table: no file matches" in unmatched.stdout
    assert "nowhere-*.parquet" in unmatched.stdout


def test_score_on_the_command_line_from_parquet_by_alias(
    seeds_book: Path,
    local_scores: list[tuple[Any, ...]],
    local_readers: tuple[list[str], Readers],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    """The source names the accounts by another system's ids (the book's aliases); a key that names no
    account is left out. Every score is the same, and so are the journeys, cancel clicks and plan."""
    book = tmp_path / "book.db"
    shutil.copy(seeds_book, book)
    with sqlite3.connect(book) as connection:
        connection.execute(
            "INSERT INTO account_aliases (system, value, account_id) "
            "SELECT 'warehouse', 'W' || upper(id), id FROM accounts"
        )
    connection.close()
    settings = load_settings()
    events = book_events(book, key=lambda account_id: "W" + account_id.upper())
    stray = book_events(book, key=lambda _account_id: "W-NOBODY")
    events = BookEvents(
        pa.concat_tables([events.usage, stray.usage.slice(0, 50)]),
        pa.concat_tables([events.signals, stray.signals.slice(0, 200)]),
    )
    mapped = SOURCES["duckdb-parquet"](events, tmp_path, settings, request)
    mapped = mapped.model_copy(update={"account_key": "alias", "alias_system": "warehouse"})
    forget_events(book)
    config = tmp_path / "config.toml"
    config.write_text(events_toml(mapped))
    monkeypatch.setenv(PIN_VARIABLE, f"{SEED_ANCHOR.isoformat()}T09:00:00+00:00")  # as `_scores` runs
    result = runner.invoke(app, ["score", "--db", str(book), "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "usage and signals computed by duckdb" in result.stdout
    with sqlite3.connect(book) as connection:
        rows = connection.execute(
            "SELECT * FROM scores WHERE run_id = (SELECT max(id) FROM score_runs) ORDER BY account_id"
        ).fetchall()
    connection.close()
    assert [row[1:] for row in rows] == local_scores
    accounts, expected = local_readers
    assert _readers(book, _with_events(settings, mapped), accounts) == expected
    exported = runner.invoke(app, ["export", "signals", "--db", str(book), "--config", str(config)])
    assert exported.exit_code == 0, exported.output
    assert "Exported 0 signals" in exported.stderr
    assert (
        "Note: events.source is 'duckdb': scoring, outreach and the journey read the signals there"
        in exported.stderr
    )


def refused_score(book: Path, config: Path) -> str:
    """`cockpit score` refused for its events source: its output, once checked that it exits 2 with no
    traceback and starts no run."""
    result = runner.invoke(app, ["score", "--db", str(book), "--config", str(config)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    with sqlite3.connect(book) as connection:
        assert connection.execute("SELECT count(*) FROM score_runs").fetchone() == (0,)
    connection.close()
    return result.output


def test_a_source_whose_library_is_missing_says_which_extra_to_install(
    seeds_book: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    book = tmp_path / "book.db"
    shutil.copy(seeds_book, book)
    monkeypatch.setitem(ADAPTERS, "duckdb", "cockpit.events.not_installed")
    config = tmp_path / "config.toml"
    config.write_text('[events]\nsource = "duckdb"\n')
    output = refused_score(book, config)
    assert "its library is not installed" in output
    assert 'pip install "cockpit[duckdb]"' in output


def test_a_source_without_a_mapped_column_stops_the_score_by_name(
    seeds_book: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    book = tmp_path / "book.db"
    shutil.copy(seeds_book, book)
    events = SOURCES["duckdb-parquet"](book_events(book), tmp_path, load_settings(), request)
    config = tmp_path / "config.toml"
    config.write_text(events_toml(events).replace('contact = "user_id"', 'contact = "visitor"'))
    output = refused_score(book, config)
    assert "the source's usage table has no column contact = 'visitor'" in output
    assert "cockpit doctor" in output


def test_a_plan_sees_an_email_opened_in_the_source_since_the_last_plan(
    scored_book: tuple[Path, list[tuple[Any, ...]]], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The store does not see the source change, so the plan's fingerprints hold the source's emails: an
    open of every email an account was followed up for withdraws the follow-up at the next plan, and
    nothing else is planned again."""
    book = tmp_path / "book.db"
    shutil.copy(scored_book[0], book)
    events = book_events(book)
    put = SOURCES["duckdb-parquet"]
    settings = load_settings()
    settings = _with_events(settings, put(events, tmp_path, settings, request))
    forget_events(book)
    clock = at(SEED_ANCHOR)
    store = open_store(book)
    try:
        first = plan(store, settings, as_of=SEED_ANCHOR, clock=clock)
        followed = next(draft.account_id for draft in first.queued if draft.playbook == "unopened-follow-up")
        sends = events.signals.filter(
            pc.and_(
                pc.equal(events.signals["acct"], followed),
                pc.equal(events.signals["signal_type"], "email_sent"),
            )
        )
        opens = sends.set_column(
            sends.column_names.index("signal_type"),
            "signal_type",
            pa.array(["email_opened"] * sends.num_rows),
        )
        put(events._replace(signals=pa.concat_tables([events.signals, opens])), tmp_path, settings, request)
        second = plan(store, settings, as_of=SEED_ANCHOR, clock=clock)
    finally:
        store.close()
    assert [(c.account_id, c.playbook) for c in second.cancelled] == [(followed, "unopened-follow-up")]
    with sqlite3.connect(book) as connection:
        (accounts,) = connection.execute("SELECT count(*) FROM accounts").fetchone()
    connection.close()
    assert second.unchanged == accounts - 1  # all but the one followed up
    assert not second.queued


def test_an_unreachable_source_stops_the_plan_and_clv_show_with_a_clear_error(
    scored_book: tuple[Path, list[tuple[Any, ...]]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    book = tmp_path / "book.db"
    shutil.copy(scored_book[0], book)
    monkeypatch.setenv(PIN_VARIABLE, f"{SEED_ANCHOR.isoformat()}T09:00:00+00:00")
    fitted = runner.invoke(app, ["clv", "fit", "--db", str(book)])  # reads no events
    assert fitted.exit_code == 0, fitted.output
    monkeypatch.setenv(DSN_ENV, f"postgresql://cockpit@127.0.0.1:{free_port()}/events")
    config = tmp_path / "config.toml"
    config.write_text(f'[events]\nsource = "postgresql"\n[events.postgresql]\ndsn_env = "{DSN_ENV}"\n')
    for command in (["outreach", "plan"], ["clv", "show", "acc-00001"]):
        result = runner.invoke(app, [*command, "--db", str(book), "--config", str(config)])
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output
        assert f"cannot connect to the PostgreSQL events source ({DSN_ENV})" in result.output
    with sqlite3.connect(book) as connection:
        assert connection.execute("SELECT count(*) FROM outreach_runs").fetchone() == (0,)
    connection.close()


def test_a_plan_without_a_playbook_reading_emails_never_opens_the_source(
    scored_book: tuple[Path, list[tuple[Any, ...]]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the unopened emails are read from the source while planning: with no playbook that reads them
    (none in the config, or the one muted) an unreachable source is not opened; unmuted, it stops the plan."""
    book = tmp_path / "book.db"
    shutil.copy(scored_book[0], book)
    monkeypatch.setenv(PIN_VARIABLE, f"{SEED_ANCHOR.isoformat()}T09:00:00+00:00")
    monkeypatch.setenv(DSN_ENV, f"postgresql://cockpit@127.0.0.1:{free_port()}/events")
    source = f'[events]\nsource = "postgresql"\n[events.postgresql]\ndsn_env = "{DSN_ENV}"\n'
    config = tmp_path / "config.toml"
    config.write_text(
        source
        + '[[outreach.playbooks]]\nid = "rescue"\ntitle = "Rescue"\ntrigger = "churn_tier == \'high\'"\n'
        'about = "account"\nchannel = "call_task"\ntemplate = "rescue"\ncooldown_days = 21\npriority = 1\n'
    )

    def planned(config: Path) -> Any:
        return runner.invoke(app, ["outreach", "plan", "--db", str(book), "--config", str(config)])

    alone = planned(config)
    assert alone.exit_code == 0, alone.output
    assert "  queued " in alone.stdout and "    rescue " in alone.stdout
    config.write_text(source)  # the shipped playbooks: unopened-follow-up reads the emails
    muted = runner.invoke(
        app, ["outreach", "mute", "unopened-follow-up", "--db", str(book), "--config", str(config)]
    )
    assert muted.exit_code == 0, muted.output
    assert planned(config).exit_code == 0
    unmuted = runner.invoke(
        app, ["outreach", "unmute", "unopened-follow-up", "--db", str(book), "--config", str(config)]
    )
    assert unmuted.exit_code == 0, unmuted.output
    refused = planned(config)
    assert refused.exit_code == 2, refused.output
    assert f"cannot connect to the PostgreSQL events source ({DSN_ENV})" in refused.output
    with sqlite3.connect(book) as connection:
        assert connection.execute("SELECT count(*) FROM outreach_runs").fetchone() == (2,)
    connection.close()
