"""The demo book, loaded as if opened on a Wednesday and scored once: built per session, copied per test."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from cockpit.store import Store, open_store
from tests.demo_books import build_scored_demo

from .builders import TODAY


@pytest.fixture(scope="session")
def scored_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_scored_demo(tmp_path_factory.mktemp("outreach") / "demo.db", TODAY)


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
