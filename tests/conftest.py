"""Isolation for every test: no developer config, data folder or environment leaks in."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cockpit.clock import PIN_VARIABLE
from cockpit.store import Store, open_store
from tests.clocks import PINNED_NOW
from tests.hostile import build_hostile_book
from tests.postgres import Server, temporary_server


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the platform folders at a temporary home, drop COCKPIT_* variables, keep local time UTC (the TUI
    shows stored moments in the local zone; snapshots must not depend on the machine's), and pin the clock
    that the commands read (`COCKPIT_NOW`), so that no test depends on the day it runs."""
    isolate(tmp_path_factory, monkeypatch)


def isolate(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    for variable in ("COCKPIT_DB", "COCKPIT_CONFIG", "COCKPIT_HUBSPOT_TOKEN"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv(PIN_VARIABLE, PINNED_NOW)
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A fresh, migrated, empty database file."""
    opened = open_store(tmp_path / "cockpit.db", create=True)
    yield opened
    opened.close()


@pytest.fixture(scope="session")
def hostile_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The book of `tests/hostile.py`, imported from CSV, scored and planned once per session."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        isolate(tmp_path_factory, monkeypatch)
        return build_hostile_book(tmp_path_factory.mktemp("hostile"))


@pytest.fixture
def hostile_db(hostile_book: Path, tmp_path: Path) -> Path:
    """A private copy of the hostile book."""
    copy = tmp_path / hostile_book.name
    shutil.copy(hostile_book, copy)
    return copy


@pytest.fixture(scope="session")
def seeds_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo book's seeds loaded as of their anchor day, not scored, once per session: for tests that only
    read it."""
    from cockpit import resources
    from cockpit.demo import SEED_ANCHOR, load_seeds
    from cockpit.store.db import build_database

    path = tmp_path_factory.mktemp("seeds") / "demo.db"
    build_database(path, lambda store: load_seeds(store, resources.seeds_dir(), today=SEED_ANCHOR))
    return path


@pytest.fixture
def seeds_demo(seeds_book: Path) -> Iterator[Store]:
    """The seeds book (`seeds_book`), opened."""
    opened = open_store(seeds_book)
    yield opened
    opened.close()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Server]:
    """A real PostgreSQL server on 127.0.0.1, started once per session (per xdist worker) in a temporary
    folder and stopped at the end (`tests/postgres.py`); if it cannot start, the tests that use it fail
    with the reason."""
    with temporary_server() as server:
        yield server
