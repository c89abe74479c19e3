"""Every events source gives the same scores as the store's own tables: the demo book scored from its SQLite
tables, then from each source holding the same events (and the book's own deleted), every score of every
account compared."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from cockpit.config import EventsSettings, Settings, load_settings
from cockpit.demo import SEED_ANCHOR
from cockpit.services.scoring import run_scoring
from cockpit.store import open_store
from tests.clocks import at
from tests.events_sources import DSN_ENV, SOURCES, book_events, forget_events, postgresql_tables
from tests.postgres import Server


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


@pytest.mark.parametrize("source", sorted([*SOURCES, "postgresql"]))
def test_every_score_is_the_same_from_every_source(
    source: str,
    seeds_book: Path,
    local_scores: list[tuple[Any, ...]],
    tmp_path: Path,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    book = tmp_path / "book.db"
    shutil.copy(seeds_book, book)
    if source == "postgresql":  # the tests' own server, started for the session (tests/postgres.py)
        server: Server = request.getfixturevalue("postgres_server")
        monkeypatch.setenv(DSN_ENV, server.dsn)
        put = postgresql_tables(server)
    else:
        put = SOURCES[source]
    settings = load_settings()
    settings = _with_events(settings, put(book_events(book), tmp_path, settings))
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
