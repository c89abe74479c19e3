"""The demo book, loaded as if opened on a Wednesday and scored once: built per session, copied per test."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from cockpit import resources
from cockpit.demo import load_seeds
from cockpit.services.scoring import run_scoring
from cockpit.store import Store, open_store
from cockpit.store.db import build_database
from tests.clocks import at

from .builders import TODAY, defaults


@pytest.fixture(scope="session")
def scored_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("outreach") / "demo.db"

    def fill(store: Store) -> None:
        load_seeds(store, resources.seeds_dir(), today=TODAY)
        run_scoring(store, defaults(), TODAY, clock=at(TODAY))

    build_database(path, fill)
    return path


@pytest.fixture
def demo_path(scored_demo: Path, tmp_path: Path) -> Path:
    """A private copy of the scored demo book."""
    copy = tmp_path / "demo.db"
    shutil.copy(scored_demo, copy)
    return copy


@pytest.fixture
def demo(demo_path: Path) -> Iterator[Store]:
    store = open_store(demo_path)
    yield store
    store.close()
