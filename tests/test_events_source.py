"""Every events source gives the same scores as the store's own tables: the demo book scored from its SQLite
tables, then from each source holding the same events (and the book's own deleted), every score of every
account compared."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from cockpit.cli import app
from cockpit.clock import PIN_VARIABLE
from cockpit.config import EventsSettings, Settings, load_settings
from cockpit.demo import SEED_ANCHOR
from cockpit.events import ADAPTERS
from cockpit.services.churn import fit_churn
from cockpit.services.journeys import read_timelines
from cockpit.services.scoring import run_scoring
from cockpit.store import open_store
from cockpit.store.scoring import pack_usage
from tests.clocks import at
from tests.events_sources import ENGINES, SOURCES, book_events, events_toml, forget_events
from tests.learned_books import build_book
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
def local_scores(seeds_book: Path, tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Any, ...]]:
    book = tmp_path_factory.mktemp("local") / "book.db"
    shutil.copy(seeds_book, book)
    return _scores(book, load_settings())


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

    config.write_text(events_toml(events).replace('contact = "user_id"', 'contact = "visitor"'))
    missing = _doctor(book, config)
    assert missing.exit_code == 1
    assert "FAIL  events" in missing.stdout
    assert "[events.usage]: the source's usage table has no column contact = 'visitor'" in missing.stdout
    assert "user_id" in missing.stdout  # the columns it has
    assert "fix: Name the source's columns in [events.usage] and [events.signals]." in missing.stdout

    config.write_text(events_toml(events).replace("signals.parquet", "nowhere-*.parquet"))
    unmatched = _doctor(book, config)
    assert unmatched.exit_code == 1
    assert "[events.signals] table: no file matches" in unmatched.stdout
    assert "nowhere-*.parquet" in unmatched.stdout


def test_score_on_the_command_line_from_parquet_by_alias(
    seeds_book: Path,
    local_scores: list[tuple[Any, ...]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    """The source names the accounts by another system's ids (the book's aliases); a key that names no
    account is left out. Every score is the same."""
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
    events = events._replace(usage=pa.concat_tables([events.usage, stray.usage.slice(0, 50)]))
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
