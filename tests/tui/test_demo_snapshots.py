"""The demo book, scored, as a CSM sees it in the morning: the book by priority and the account on top."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot

from cockpit import resources
from cockpit.config import load_settings
from cockpit.demo import SEED_ANCHOR, load_seeds
from cockpit.score_runs import run_scoring
from cockpit.store import open_store
from cockpit.store.db import build_database
from cockpit.tui.app import CockpitApp
from cockpit.tui.screens.account import AccountScreen

from .books import settle

SnapCompare = Callable[..., bool]


@pytest.fixture
def demo_app(tmp_path: Path) -> CockpitApp:
    """The demo book as of its anchor day, scored then and a month before."""
    path = tmp_path / "demo.db"
    build_database(path, lambda store: load_seeds(store, resources.seeds_dir(), today=SEED_ANCHOR))
    store = open_store(path)
    for as_of in (SEED_ANCHOR.replace(month=SEED_ANCHOR.month - 1), SEED_ANCHOR):
        run_scoring(store, load_settings(), as_of)
    return CockpitApp(store, load_settings(), db_label="demo.db")


async def by_priority(pilot: Pilot[None]) -> None:
    await settle(pilot)
    await pilot.press("p")
    await settle(pilot)


async def open_top_account(pilot: Pilot[None]) -> None:
    await by_priority(pilot)
    await pilot.press("enter")
    await settle(pilot)
    assert isinstance(pilot.app.screen, AccountScreen)


def test_demo_book_by_priority(snap_compare: SnapCompare, demo_app: CockpitApp) -> None:
    assert snap_compare(demo_app, terminal_size=(120, 30), run_before=by_priority)


def test_account_screen(snap_compare: SnapCompare, demo_app: CockpitApp) -> None:
    assert snap_compare(demo_app, terminal_size=(120, 45), run_before=open_top_account)


def test_account_screen_at_80x24(snap_compare: SnapCompare, demo_app: CockpitApp) -> None:
    assert snap_compare(demo_app, terminal_size=(80, 24), run_before=open_top_account)
